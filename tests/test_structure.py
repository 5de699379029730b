"""The import structure, built from the source: layers only import downwards, no files import each other in a
circle, and imports sit at module top (docs/architecture.md, "Layers").

An import under ``if TYPE_CHECKING:`` names a type for annotations only (``from __future__ import annotations``:
nothing is imported when the program runs), yet it still ties the two files: one cannot be read without the other.
It counts like any import for the layers and the circles; only the module-top rule does not apply (it is at the
top)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("isa", "socsim")

LAYERS: tuple[tuple[str, ...], ...] = (
    ("isa", "socsim.base"),
    ("socsim.physics",),
    ("socsim.config",),
    ("socsim.compiler", "socsim.pricing"),
    ("socsim.sim",),
    ("socsim.debug",),
    ("socsim.runfolder",),
    ("socsim.report",),
    ("socsim.host",),
    ("socsim.api", "socsim.sweep"),
    ("socsim.cli", "socsim.tools", "socsim.__main__"),
)
"""The folders of every layer, lowest first: a module imports only from its own layer or the ones below. A module's
layer is its folder's: every module of socsim but its doors (FACES) sits in a folder named here
(test_every_module_sits_in_the_folder_of_its_layer), so the tree shows the layers."""
FACES = ("socsim", "socsim.__main__")
"""The package's doors, the only modules at the top of socsim/: ``import socsim`` and ``python -m socsim``."""
APART = (("socsim.compiler", "socsim.sim"), ("socsim.sim", "socsim.compiler"))
"""Pairs on neighbouring layers that must not import each other at all: the compiler and the simulator meet
only in the program (``isa``)."""
DEFERRED = ("onnx", "socsim.compiler.frontend.onnx", "dask", "distributed", "sklearn", "mlxtend", "matplotlib.pyplot")
"""Heavy optional dependencies (and the one module that imports onnx at its top) that may be imported inside a
function, with a comment saying why."""
PACKAGE_FACE = {"socsim": ("socsim.api.functions",)}
"""A package's ``__init__`` that imports on first attribute access (the notebook API), so ``import socsim``
stays fast."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _layer(module: str) -> int:
    if module == "socsim":  # the package face: the version, and the notebook API on first use
        return 0
    best, layer = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, layer = len(name), i
    assert layer is not None, f"{module}: in no layer of LAYERS; add it where it belongs"
    return layer


def _in_functions(tree: ast.Module) -> set[int]:
    """``id`` of every import statement inside a function."""
    return {id(sub) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            for sub in ast.walk(fn) if isinstance(sub, (ast.Import, ast.ImportFrom))}


def _imports(path: Path, known: set[str]) -> list[tuple[int, str, bool]]:
    """(line, imported project module, at module top) for every project import of ``path``, those under
    ``if TYPE_CHECKING:`` included."""
    tree = ast.parse(path.read_text())
    inner = _in_functions(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known:
                out.append((node.lineno, target, id(node) not in inner))
    return out


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {m: {t for _, t, _ in _imports(p, known) if t != m} for m, p in sources.items()}


def test_every_module_sits_in_the_folder_of_its_layer():
    """The tree shows the layers: every module of socsim but its doors is in a folder named in LAYERS, and every
    name there is a package folder."""
    named = {name for names in LAYERS for name in names}
    loose = sorted(m for m in _sources() if m.startswith("socsim.") and m not in FACES
                   and ".".join(m.split(".")[:2]) not in named)
    assert not loose, "modules outside the folders of LAYERS (move each into the folder of its layer): " + \
        ", ".join(loose)
    not_folders = sorted(n for n in named - set(FACES) if not (ROOT / n.replace(".", "/") / "__init__.py").is_file())
    assert not not_folders, "LAYERS names what is no package folder: " + ", ".join(not_folders)


MAX_MODULE_LINES = 500
"""The house limit of a module of ``isa`` or ``socsim``, in lines: past it, a module holds more than one job."""
OVER_LIMIT: dict[str, int] = {}
"""Modules still past the limit, each with its length when it was last measured: a debt to split. The test fails
when one of them grows, and asks to drop it from here once it fits."""


def test_no_module_is_longer_than_the_house_limit():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _sources().values()}
    long = {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES and path not in OVER_LIMIT}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split each by job): " + \
        ", ".join(f"{path} ({n})" for path, n in sorted(long.items()))
    grown = {path: lengths.get(path, 0) for path, n in OVER_LIMIT.items() if lengths.get(path, 0) > n}
    assert not grown, f"modules past the limit that grew (split them instead): {grown}"
    fits = sorted(path for path in OVER_LIMIT if lengths.get(path, 0) <= MAX_MODULE_LINES)
    assert not fits, f"now within {MAX_MODULE_LINES} lines: drop from OVER_LIMIT: {', '.join(fits)}"

def test_every_import_goes_down_or_sideways():
    sources = _sources()
    bad = []
    for module, path in sources.items():
        for line, target, _ in _imports(path, set(sources)):
            if target in PACKAGE_FACE.get(module, ()):
                continue
            if _layer(target) > _layer(module):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {module} (layer {_layer(module)}) imports {target} "
                           f"(layer {_layer(target)})")
            for a, b in APART:
                if module.startswith(a) and (target == b or target.startswith(b + ".")):
                    bad.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}; {a} and {b} meet only "
                               "in the program")
    assert not bad, "\n".join(bad)


def test_no_files_import_each_other_in_a_circle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, "files that import each other in a circle:\n" + "\n".join(", ".join(c) for c in circles)


def _deferred(node: ast.Import | ast.ImportFrom) -> bool:
    names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    return all(any(n == d or n.startswith(d + ".") for d in DEFERRED) for n in names)


def test_imports_sit_at_module_top():
    sources = _sources()
    bad = []
    for module, path in sources.items():
        tree = ast.parse(path.read_text())
        inner = _in_functions(tree)
        face = PACKAGE_FACE.get(module, ())
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) not in inner:
                continue
            if _deferred(node) or (isinstance(node, ast.ImportFrom) and node.names[0].name in
                                   {f.rsplit(".", 1)[-1] for f in face}):
                continue
            bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, "imports inside functions (move them to the module top):\n" + "\n".join(bad)


@pytest.mark.parametrize("module", DEFERRED)
def test_deferred_heavy_imports_say_why(module):
    """A heavy optional dependency imported inside a function carries a comment on that line."""
    bad = []
    for path in _sources().values():
        for n, text in enumerate(path.read_text().splitlines(), 1):
            stripped = text.strip()
            if text.startswith((" ", "\t")) and stripped.startswith((f"import {module}", f"from {module}")) \
                    and "#" not in stripped:
                bad.append(f"{path.relative_to(ROOT)}:{n}: {stripped}")
    assert not bad, f"deferred imports of {module} without a comment saying why:\n" + "\n".join(bad)


def test_the_command_line_does_not_import_the_heavy_optional_dependencies():
    """``socsim --help`` and every command but an ONNX import start without onnx, dask or scikit-learn."""
    code = ("import sys, socsim.cli, socsim.api.functions; "
            "print(sorted(m for m in ('onnx', 'dask', 'distributed', 'sklearn', 'mlxtend') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
