"""course_lib: the plumbing shared by the MNIST representation-learning notebooks.

One module a concept: ``data`` (real datasets, offline), ``session`` (seeds, threads,
device), ``params`` (checks for parameter cells), ``training`` (fit loop, LR finder,
checkpoints), ``plots`` (the recurring figures), ``records`` (metrics.json).
"""
__version__ = "0.1.0"
