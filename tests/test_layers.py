"""The import layers of course_lib, read from the source (AST, nothing is executed).

    masks, positional, validate  <  attention  <  models (transformer, gpt, seq2seq, ...)

* no import cycle between course_lib modules (function-level imports count too);
* the foundation (masks, positional, validate) imports nothing from course_lib;
* attention imports only the foundation;
* models never import ``course_lib.data`` (data is made by the caller and passed in);
* nothing in the learners' package imports the repository tooling (``course_tools``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib"

FOUNDATION = {"course_lib.masks", "course_lib.positional", "course_lib.validate"}
ATTENTION = {"course_lib.attention"}
# Models that take positions and masks from the layers below. Add a new model module here.
MODELS = {"course_lib.transformer", "course_lib.gpt", "course_lib.seq2seq",
          "course_lib.hard_attention", "course_lib.rnn", "course_lib.variant_lm",
          "course_lib.vit", "course_lib.vqa", "course_lib.story_reader"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module that ``path`` imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from course_lib import attention` imports the submodule course_lib.attention
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _imports(path)
        graph[name] = {m for m in imported if m in modules and m != name and m != "course_lib"}
        graph[name] |= {m for m in imported if m.split(".")[0] == "course_tools"}
    return graph


GRAPH = _graph()


def _internal(name: str) -> set[str]:
    return {m for m in GRAPH[name] if m.startswith("course_lib.")}


def test_graph_is_read():
    assert "course_lib.masks" in _internal("course_lib.attention")


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(_internal(name)):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep] if dep in path else [name, dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("module", sorted(FOUNDATION))
def test_foundation_imports_nothing_from_course_lib(module):
    assert not _internal(module), f"{module} must be a leaf, imports {sorted(_internal(module))}"


@pytest.mark.parametrize("module", sorted(ATTENTION))
def test_attention_imports_only_the_foundation(module):
    extra = _internal(module) - FOUNDATION
    assert not extra, f"{module} may import only {sorted(FOUNDATION)}, imports {sorted(extra)}"


@pytest.mark.parametrize("module", sorted(MODELS))
def test_models_never_import_data(module):
    data = {m for m in _internal(module) if m.split(".")[:2] == ["course_lib", "data"]}
    assert not data, f"{module} imports {sorted(data)}: take data (or a vocab) as an argument"


@pytest.mark.parametrize("module", sorted(MODELS))
def test_models_exist(module):
    assert module in GRAPH, f"{module} is listed as a model but has no source file"


def test_learners_package_never_imports_tooling():
    offenders = {m: sorted(d for d in deps if d.split(".")[0] == "course_tools")
                 for m, deps in GRAPH.items()}
    offenders = {m: d for m, d in offenders.items() if d}
    assert not offenders, f"course_lib must not import course_tools: {offenders}"
