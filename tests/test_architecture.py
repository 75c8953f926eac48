"""Imports point down: faces -> engines -> core, and no cycle between packages or modules.

Reads every module's `import` statements (ast; lazy imports inside functions and
`if TYPE_CHECKING:` imports count: they are dependencies too) and checks the rule
docs/architecture.md states. A new exception goes in `ALLOWED` with its reason.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent

# The layers, by top-level package or module of harness/ (docs/architecture.md).
CORE = {"wire", "tls", "observe", "rules", "spec", "report", "profiles", "pki", "clock"}
CORE |= {"gc_pause", "__init__"}  # the GC pause helper and the version string
ENGINES = {"endpoints", "analyze", "device", "netsim", "capture", "fleet"}
FACES = {"cli", "plugin", "testing", "fixtures", "conformance", "demo", "storm"}
RANK = {"core": 0, "engine": 1, "face": 2}

# Command-line modules inside an engine or core package are faces of their own
# (they parse arguments and print): `cli.py`, `*_cli.py`, and the fleet's commands.
FACE_MODULES = {"harness.fleet.query", "harness.fleet.report"}

# (importer, imported) module pairs allowed to point up or to close a cycle, and why.
ALLOWED: dict[tuple[str, str], str] = {
    ("harness.report.write", "harness.capture.reader"): (
        "report.json counts the packets and reading problems of each capture it links; "
        "the reader is a file-format reader that imports nothing from harness"
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if modules()[importer].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def target(name: str) -> str | None:
    """The harness module an imported name lives in (the longest known prefix)."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules():
            return ".".join(parts)
        parts.pop()
    return None


@cache
def imports() -> dict[str, set[str]]:
    """module -> the harness modules it imports."""
    out: dict[str, set[str]] = {}
    for mod, path in modules().items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(mod, node)
                names = [f"{base}.{a.name}" for a in node.names] + [base]
            for n in names:
                t = target(n) if n.startswith("harness") else None
                if t and t != mod and t != "harness":
                    found.add(t)
                    break  # `from a import b, c`: one module (b's if it is one, else a)
        out[mod] = found
    return out


def package(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def is_face_module(mod: str) -> bool:
    last = mod.rsplit(".", 1)[-1]
    return mod in FACE_MODULES or last == "cli" or last.endswith("_cli")


def layer(mod: str) -> str:
    if is_face_module(mod):
        return "face"
    pkg = package(mod)
    if pkg in FACES:
        return "face"
    if pkg in ENGINES:
        return "engine"
    if pkg in CORE:
        return "core"
    raise AssertionError(
        f"{mod}: package {pkg!r} has no layer; add it to tests/test_architecture.py"
    )


def node(mod: str) -> str:
    """The unit cycles are looked for between: a package, or a command module on its own."""
    if is_face_module(mod) and package(mod) not in FACES:
        return mod
    return package(mod)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def edges() -> list[tuple[str, str]]:
    return [(a, b) for a, bs in imports().items() for b in sorted(bs) if (a, b) not in ALLOWED]


def test_every_module_has_a_layer() -> None:
    for mod in modules():
        layer(mod)


def test_imports_point_down() -> None:
    up = [
        f"{a} ({layer(a)}) imports {b} ({layer(b)})"
        for a, b in edges()
        if RANK[layer(b)] > RANK[layer(a)]
    ]
    assert not up, "imports pointing up (docs/architecture.md):\n  " + "\n  ".join(up)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in edges():
        if node(a) != node(b):
            graph.setdefault(node(a), set()).add(node(b))
    cycles = strongly_connected(graph)
    assert not cycles, f"packages importing each other: {cycles}"


def test_no_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in edges():
        graph.setdefault(a, set()).add(b)
    cycles = strongly_connected(graph)
    assert not cycles, f"modules importing each other: {cycles}"


def test_the_checker_sees_an_upward_import_and_a_cycle() -> None:
    """The checks can fail: a core module importing a face, and two packages in a loop."""
    assert layer("harness.report.write") == "core" and layer("harness.conformance.cli") == "face"
    assert RANK[layer("harness.conformance.cli")] > RANK[layer("harness.report.write")]
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "harness.wire.tftp" in imports()["harness.analyze.tftp"]  # lazy or not, it is read
