# Two commands for a fresh machine (see README.md):
#   make course   run every notebook on the default profile into runs/default/
#   make test     the whole test suite (unit tests, smoke runs, nbval, metrics checks)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: course test smoke notebooks kernel benchmarks clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m course_lib kernel
	touch $(STAMP)

course: $(STAMP)
	$(PY) -m course_lib run --profile default --output runs/default

# Tests never depend on the network: COURSE_DATA forces the embedded sample.
test: $(STAMP)
	rm -rf runs/smoke
	COURSE_DATA=mnist-sample $(PY) -m course_lib run --profile smoke --output runs/smoke --quiet
	COURSE_DATA=mnist-sample $(PY) -m pytest tests runs/smoke --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tests/sanitize.cfg -q

smoke: $(STAMP)
	COURSE_DATA=mnist-sample $(PY) -m course_lib run --profile smoke --output runs/smoke

# Re-execute the committed notebooks (default profile, embedded sample) before committing them.
notebooks: $(STAMP)
	$(PY) -m course_lib refresh

kernel: $(STAMP)

benchmarks: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf runs
