"""The package's floors (docs/architecture.md): every import of every module, top-level or inside a function, goes
to the same sub-package or to a lower floor, and the sub-packages form no cycle. Read from the source (ast), so the
test sees imports inside functions too."""
import ast
import os
from collections import defaultdict

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "equinet")

#: the floors, lowest first: a module may import its own sub-package and anything on a lower floor
FLOORS = [
    {"utils", "metrics"},
    {"groups"},
    {"kernels"},
    {"__init__"},  # the package root: its version and the foundation (groups, kernels)
    {"nn"},
    {"nets"},
    {"physics", "data"},
    {"reconstructors", "unrolled", "transforms", "diagnostics", "interop", "testing", "pretrained"},
    {"losses"},
    {"training"},
    {"experiments"},
    {"demo_basis", "__main__"},
]
#: compatibility re-exports of moved classes (equinet.nets.PinvReconstructor, equinet.nets.reconstructor): the
#: only imports that go up a floor, each named here; remove them with the re-exports in the next release
UPWARD_ALLOWED = {("equinet.nets", "equinet.reconstructors"),
                  ("equinet.nets.reconstructor", "equinet.reconstructors.pinv")}


def _modules():
    for dirpath, _, files in os.walk(ROOT):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                yield (rel[:-len(".__init__")] if f == "__init__.py" else rel), path, f == "__init__.py"


def _imports(module: str, path: str, is_package: bool):
    """(target module, top level?) of every ``equinet`` import in the file."""
    package = module if is_package else module.rsplit(".", 1)[0]
    tree = ast.parse(open(path, encoding="utf-8").read())
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("equinet"):
                continue
            if node.module is None:  # from .. import groups, physics: each name is a module
                for a in node.names:
                    yield f"{target}.{a.name}", id(node) in top
            else:
                yield target, id(node) in top
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("equinet"):
                    yield a.name, id(node) in top


def _floor_name(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _floor(module: str) -> int:
    name = _floor_name(module)
    for i, names in enumerate(FLOORS):
        if name in names:
            return i
    raise AssertionError(f"{module}: sub-package {name!r} is on no floor of docs/architecture.md; add it there and "
                         "to FLOORS")


MODULES = list(_modules())
KNOWN = {m for m, _, _ in MODULES}


def _resolve(target: str) -> str:
    """The module an import target names (``from .mod import name`` and ``from .. import __version__`` name
    attributes: their module is the longest known prefix)."""
    while target not in KNOWN and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


EDGES = [(m, _resolve(t), top) for m, p, pkg in MODULES for t, top in _imports(m, p, pkg)]


def test_every_subpackage_has_a_floor():
    for m, _, _ in MODULES:
        _floor(m)


def test_no_import_goes_up_a_floor():
    bad = [f"{m} (floor {_floor(m)}) imports {t} (floor {_floor(t)})" for m, t, _ in EDGES
           if _floor(t) > _floor(m) and (m, t) not in UPWARD_ALLOWED]
    assert not bad, "imports from a lower floor to a higher one:\n" + "\n".join(bad)


def test_the_allowed_exceptions_are_still_needed():
    present = {(m, t) for m, t, _ in EDGES}
    assert UPWARD_ALLOWED <= present, f"stale exceptions: {UPWARD_ALLOWED - present}"


def _cycle(graph):
    """A cycle of ``graph`` (node -> successors) as a list, or None."""
    state, stack = {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state:
            found = visit(u)
            if found:
                return found
    return None


@pytest.mark.parametrize("level", ["sub-packages", "modules"])
def test_no_import_cycle(level):
    graph = defaultdict(set)
    for m, t, _ in EDGES:
        if level == "sub-packages":
            a, b = _floor_name(m), _floor_name(t)
            if a != b and (m, t) not in UPWARD_ALLOWED:
                graph[a].add(b)
        elif t != m and not m.startswith(t + "."):
            graph[m].add(t)  # (a module importing its own package's __init__ is the import order, not a cycle)
    cycle = _cycle(graph)
    assert cycle is None, f"import cycle among {level}: {' -> '.join(cycle)}"


def test_the_checker_sees_a_violation(tmp_path):
    """The rules above can fail: a module of nn importing training is reported, and a two-module cycle is found."""
    assert _floor("equinet.nn.conv") < _floor("equinet.training.trainer")
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"] and _cycle({"a": {"b"}, "b": set()}) is None
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from ..training import Trainer\n")
    assert list(_imports("equinet.nn.m", str(p), False)) == [("equinet.training", False)]
