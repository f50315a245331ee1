"""The lesson-to-module index (``course_lib.lessons``) against the notebooks themselves, and
the README's layout section against the index: neither may drift.

A lesson "uses" a module when its code cells import a class, function or module of
course_lib (or reach one through an imported module or package, ``attention.masked_softmax``)
and that object is defined in the module; aliases of the old flat layout resolve to the new
homes.
"""

from __future__ import annotations

import ast
import importlib
import json
import types
from pathlib import Path

import pytest

from course_lib import lessons

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _owner(obj: object, fallback: str) -> str | None:
    """The module that defines ``obj`` (None for a package: its modules count instead)."""
    if isinstance(obj, types.ModuleType):
        return None if hasattr(obj, "__path__") else obj.__name__
    return getattr(obj, "__module__", fallback)


def _code_trees(path: Path) -> list[ast.Module]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [ast.parse("".join(c["source"])) for c in cells if c["cell_type"] == "code"]


def modules_used(path: Path) -> set[str]:
    """The course_lib modules whose code a notebook calls, named below the package."""
    found: set[str | None] = set()
    bound: dict[str, types.ModuleType] = {}  # names the notebook binds to course_lib modules
    trees = _code_trees(path)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "course_lib":
                        module = importlib.import_module(alias.name)
                        bound[alias.asname or "course_lib"] = (
                            module if alias.asname else importlib.import_module("course_lib"))
                        found.add(_owner(module, alias.name))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_lib"):
                base = importlib.import_module(node.module)
                for alias in node.names:
                    obj = getattr(base, alias.name)
                    if isinstance(obj, types.ModuleType):
                        bound[alias.asname or alias.name] = obj
                    found.add(_owner(obj, base.__name__))
    for tree in trees:  # attribute chains from a bound module: plots.heatmap, course_lib.x.y
        for node in ast.walk(tree):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            if not chain or not isinstance(root, ast.Name) or root.id not in bound:
                continue
            obj: object = bound[root.id]
            for attr in reversed(chain):
                if not isinstance(obj, types.ModuleType):
                    break
                parent, obj = obj, getattr(obj, attr)
                found.add(_owner(obj, parent.__name__))
    return {name.removeprefix("course_lib.") for name in found
            if name and name.startswith("course_lib.")}


def test_every_notebook_has_an_entry_and_every_entry_a_notebook():
    numbers = [path.name[:2] for path in NOTEBOOKS]
    assert [lesson.number for lesson in lessons.LESSONS] == numbers, (
        "course_lib/lessons.py: add (or remove) the lesson's entry")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_index_lists_the_modules_the_notebook_uses(path):
    entry = {lesson.number: lesson for lesson in lessons.LESSONS}.get(path.name[:2])
    assert entry is not None, f"{path.name}: no entry in course_lib/lessons.py"
    used, listed = modules_used(path), set(entry.modules)
    assert used == listed, (f"{path.name}: course_lib/lessons.py should list "
                            f"{sorted(used)}; missing {sorted(used - listed)}, "
                            f"not used {sorted(listed - used)}")


def test_index_names_real_modules():
    layout = lessons.library_modules()
    known = {f"{package}.{module}" for package, modules in layout.items() for module in modules}
    for lesson in lessons.LESSONS:
        assert set(lesson.modules) <= known, (lesson.number, set(lesson.modules) - known)
    assert lessons.lessons_using("attention.positions") == ["05", "07"]
    with pytest.raises(ValueError, match="module: expected one of course_lib's modules such "
                                         "as 'attention.positions', got 'attention.position'"):
        lessons.lessons_using("attention.position")  # a typo is not "no lesson uses it"


def test_readme_layout_is_generated_from_the_index():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = lessons.MARKERS
    assert start in text and end in text, "README.md: the generated layout's markers are gone"
    block = text[text.index(start) + len(start):text.index(end)].strip()
    assert block == lessons.layout_markdown(), (
        "README.md's layout is out of date: run `python -m course_lib.lessons --write README.md`")


def test_write_layout_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    start, end = lessons.MARKERS
    readme.write_text(f"before\n{start}\nstale\n{end}\nafter\n", encoding="utf-8")
    assert lessons.write_layout(readme)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith(f"{end}\nafter\n")
    assert lessons.layout_markdown() in text and "stale" not in text
    assert not lessons.write_layout(readme)  # already current
