"""The course's own tooling: ``python -m course_lib run / claims / report / refresh / kernel / speed``.

Nothing here is imported by the modules the notebooks use; it is split by job:

- :mod:`.checkout`: where the course is (notebooks/, params/) and the kernel it runs in;
- :mod:`.errors`: :class:`RunError`, a run that must stop with one line;
- :mod:`.profiles`: ``params/NAME.yaml``, ``--only``, ``-p key=value`` and each notebook's parameters;
- :mod:`.speed`: this machine against a profile's reference machine: the factor its budgets are scaled by;
- :mod:`.execute`: one notebook in a child process (papermill), its time budget, the kernel;
- :mod:`.summary`: each notebook's row (headline metrics, claims), ``summary.csv`` / ``summary.json``;
- :mod:`.claims`: the claims a run's notebooks found false (``python -m course_lib claims``);
- :mod:`.runner`: the run itself, notebook after notebook, with progress lines;
- :mod:`.report`: ``index.html`` and the offline notebook pages (templates in ``templates/``);
- :mod:`.refresh`: re-executing the committed notebooks and stamping them;
- :mod:`.cli`: the command line.
"""
