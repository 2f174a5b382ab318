# Two commands for a fresh machine (see README.md):
#   make course   run every notebook on the default profile into runs/default/
#   make test     the whole test suite (unit tests, smoke runs, nbval, metrics checks)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: course test claims smoke sweep notebooks kernel benchmarks oldest clean site slides student

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m course_lib kernel
	touch $(STAMP)

course: $(STAMP)
	$(PY) -m course_lib run --profile default --output runs/default

# Tests never depend on the network: COURSE_DATA forces the embedded sample. The tests run
# two files at a time (pytest-xdist: a file's tests stay together, so its fixtures run once);
# nbval then re-executes the smoke notebooks one after another (each uses both cores).
test: $(STAMP)
	rm -rf runs/smoke
	COURSE_DATA=mnist-sample $(PY) -m course_lib run --profile smoke --output runs/smoke --quiet
	COURSE_DATA=mnist-sample $(PY) -m pytest tests -q -n 2 --dist loadfile
	COURSE_DATA=mnist-sample $(PY) -m pytest runs/smoke --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tests/sanitize.cfg -q

# CI's check of the default profile (on the embedded sample): every claim the notebooks
# make must hold; each false one is one line, and the target fails.
claims: $(STAMP)
	COURSE_DATA=mnist-sample $(PY) -m course_lib run --profile default --output runs/default
	$(PY) -m course_lib claims runs/default

smoke: $(STAMP)
	COURSE_DATA=mnist-sample $(PY) -m course_lib run --profile smoke --output runs/smoke

# Seeds 0-3 of notebooks 01 and 02 on the smoke profile, on a Dask LocalCluster, into runs/sweep-smoke
# (see README.md, "Seed sweeps"); e.g. make sweep SWEEP="--notebooks 03 --seeds 0-9 --profile default"
SWEEP ?= --notebooks 01,02 --seeds 0-3 --profile smoke
sweep: $(STAMP)
	$(PY) -m course_lib sweep $(SWEEP)

# Re-execute the committed notebooks (default profile, embedded sample) before committing them.
notebooks: $(STAMP)
	$(PY) -m course_lib refresh

kernel: $(STAMP)

# For lecturers (README.md, "For lecturers"): everything from the committed, executed notebooks;
# nothing is run and nothing needs the network. Outputs go to build/ (not in git).
# The course website: open build/site/html/index.html.
site: $(STAMP)
	$(PY) -m course_lib site

# reveal.js slides of every notebook (one: python -m course_lib slides 03): build/slides/NN_name.slides.html
slides: $(STAMP)
	$(PY) -m course_lib slides

# The student edition (build/student/release) and its otter-grader autograder (build/student/autograder);
# e.g. make student STUDENT="--profile smoke --only 01,02" for small, fast versions.
STUDENT ?=
student: $(STAMP)
	$(PY) -m course_lib student $(STUDENT)

benchmarks: $(STAMP)
	$(PY) benchmarks/run.py

# The unit tests on the oldest torch pyproject.toml allows (its lower bounds), in their own
# venv under build/: checks that the version ranges are true. Downloads about 3 GB once.
OLDEST := build/venv-oldest
UNIT   := tests/test_data.py tests/test_download.py tests/test_devices.py tests/test_training.py \
	tests/test_autoencoder.py tests/test_transformers.py tests/test_divergence.py \
	tests/test_stacked_autoencoders.py tests/test_knn.py tests/test_neighbours.py tests/test_params.py tests/test_records.py \
	tests/test_report.py tests/test_runner.py tests/test_environment.py
oldest:
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet torch==2.4.1 torchvision==0.19.1 -e .
	COURSE_DATA=mnist-sample $(OLDEST)/bin/python -m pytest $(UNIT) -q

clean:
	rm -rf runs
