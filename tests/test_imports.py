"""course_lib's modules import each other without a cycle, and the modules the notebooks
use never import the course tooling (course_lib/tooling: runner, report, ...)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_lib"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The course_lib module ``name`` is, or lies in (``course_lib.data.load`` -> ``course_lib.data``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str) -> set[str]:
    """The course_lib modules a module imports, anywhere in it (functions too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        found |= {m for m in map(resolve, targets) if m and m.startswith("course_lib")}
    return found - {name}


GRAPH = {name: imports(name) for name in MODULES}
# every module but the tooling and `python -m course_lib`: data, session, params, records, training, ...
NOTEBOOK_FACING = sorted(n for n in MODULES if not n.startswith(("course_lib.tooling", "course_lib.__main__")))


def test_the_graph_is_read():
    assert "course_lib.tooling.runner" in MODULES and {"course_lib", "course_lib.session"} <= set(NOTEBOOK_FACING)
    assert "course_lib.tooling.cli" in GRAPH["course_lib.__main__"]
    assert "course_lib.records" in GRAPH["course_lib.session"]
    assert "course_lib.tooling.errors" in GRAPH["course_lib.tooling.report"]


def test_no_import_cycle():
    state = {}

    def visit(name, path):
        state[name] = "open"
        for other in sorted(GRAPH[name]):
            if state.get(other) == "open":
                cycle = path[path.index(other):] + [other]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if other not in state:
                visit(other, path + [other])
        state[name] = "done"

    for name in MODULES:
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("name", NOTEBOOK_FACING)
def test_notebook_modules_never_reach_the_tooling(name):
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += GRAPH[current]
    tooling = sorted(m for m in seen if m.startswith("course_lib.tooling"))
    assert not tooling, f"{name} imports the course tooling ({', '.join(tooling)}): notebooks must not need it"
