"""The import layers of course_lib, read from the source (AST, nothing is executed).

    core, notebook  <  data, tokenizers, attention  <  models  <  training
                    <  experiments, analysis, scale
      <  exercises (the exercise catalogues, which take their references from anywhere)

* a package imports only from its own layer's foundation and the layers below
  (``RANK``), never from above; the few crossings still to remove are listed in
  ``KNOWN_CROSSINGS``, and the test fails when one of them is gone (so the list shrinks);
* data and tokenizers import no model and no training code; core imports nothing else
  from course_lib;
* no import cycle between course_lib modules (function-level imports count too);
* nothing in the learners' package imports the repository tooling (``course_tools``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib"

# The rank of each package: a module may import from packages of lower or equal rank
# (its own package always), never higher.
RANK = {"core": 0, "notebook": 0, "data": 1, "tokenizers": 1, "attention": 1, "models": 2,
        "training": 3, "experiments": 4, "analysis": 4, "scale": 4, "exercises": 5}
# Imports that cross a layer upwards today: (importer, imported). Remove an entry when
# its crossing is gone; the test fails if an entry no longer exists.
KNOWN_CROSSINGS = {
    ("course_lib.models.seq2seq", "course_lib.training.decoding"),
    ("course_lib.models.seq2seq", "course_lib.training.losses"),
    ("course_lib.models.seq2seq", "course_lib.training"),
    ("course_lib.models.transformer", "course_lib.training.decoding"),
    ("course_lib.models.transformer", "course_lib.training.losses"),
    ("course_lib.models.transformer", "course_lib.training.loop"),
    ("course_lib.models.transformer", "course_lib.training.schedules"),
    ("course_lib.training.sampling", "course_lib.analysis.timing"),
}


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


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def _crossings() -> set[tuple[str, str]]:
    found = set()
    for module in GRAPH:
        package = _package(module)
        if package is None:
            continue
        for dep in _internal(module):
            other = _package(dep)
            if other is not None and other != package and RANK[other] > RANK[package]:
                found.add((module, dep))
    return found


def test_graph_is_read():
    assert "course_lib.core.masks" in _internal("course_lib.attention.multihead")


def test_every_package_has_a_rank():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK), f"packages without a rank: {sorted(packages - set(RANK))}"


def test_no_package_imports_from_a_higher_layer():
    new = _crossings() - KNOWN_CROSSINGS
    assert not new, "imports from a higher layer (see RANK): " + ", ".join(
        f"{a} -> {b}" for a, b in sorted(new))


def test_known_crossings_still_exist():
    gone = KNOWN_CROSSINGS - _crossings()
    assert not gone, f"remove these from KNOWN_CROSSINGS, they are fixed: {sorted(gone)}"


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


def test_core_imports_nothing_else_from_course_lib():
    for module in GRAPH:
        if _package(module) == "core":
            extra = {d for d in _internal(module) if _package(d) not in (None, "core")}
            assert not extra, f"{module} is in the foundation but imports {sorted(extra)}"


def test_data_imports_no_model_and_no_training():
    for module in GRAPH:
        if _package(module) in ("data", "tokenizers"):
            bad = {d for d in _internal(module) if _package(d) in ("models", "training")}
            assert not bad, f"{module} imports {sorted(bad)}: data must not know the models"


def test_learners_package_never_imports_tooling():
    offenders = {m: sorted(d for d in deps if d.split(".")[0] == "course_tools")
                 for m, deps in GRAPH.items()}
    offenders = {m: d for m, d in offenders.items() if d}
    assert not offenders, f"course_lib must not import course_tools: {offenders}"
