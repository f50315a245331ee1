"""Every lesson notebook follows CONTRIBUTING.md: no stored outputs, valid exercises,
slide metadata, glossary links, and no pasted copies of course_lib."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import course_lib
from course_tools import notebooks

ROOT = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(ROOT / "notebooks")


def _modules() -> list:
    return [importlib.import_module(info.name)
            for info in pkgutil.walk_packages(course_lib.__path__, prefix="course_lib.")]


def _defined_here(module) -> set[str]:
    """Public functions and classes defined in ``module`` itself (not imported into it)."""
    return {name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", "") == module.__name__}


def _library_names() -> set[str]:
    """Every name a course_lib module exports through ``__all__``."""
    return {name for module in _modules() for name in getattr(module, "__all__", ())}


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_every_module_declares_all(module) -> None:
    """``__all__`` lists what the module offers: every public function and class it defines,
    and only names that exist."""
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module.__name__}: add __all__"
    missing = sorted(_defined_here(module) - set(exported))
    assert not missing, f"{module.__name__}: public but not in __all__: {missing}"
    unknown = sorted(name for name in exported if not hasattr(module, name))
    assert not unknown, f"{module.__name__}: __all__ names what does not exist: {unknown}"


@pytest.fixture(scope="module")
def library_names() -> set[str]:
    return _library_names()


@pytest.fixture(scope="module")
def glossary() -> dict[str, tuple[str, str]]:
    return notebooks.load_glossary(ROOT / "GLOSSARY.md")


def test_there_are_lessons() -> None:
    assert LESSONS, "no notebooks found under notebooks/"
    assert LESSONS[0].name == "00_welcome.ipynb"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_stored_without_outputs(path: Path) -> None:
    problems = notebooks.stored_output_problems(notebooks.read(path))
    assert not problems, f"{path.name}: run `make clean-notebooks`:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_exercise_metadata(path: Path) -> None:
    nb = notebooks.read(path)
    problems = notebooks.exercise_problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    if path.name != "00_welcome.ipynb":
        answers = [c for c in nb.cells if notebooks.is_answer_cell(c)]
        assert len(answers) >= 2, f"{path.name}: a lesson has 2-4 graded exercises"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_slide_metadata(path: Path) -> None:
    nb = notebooks.read(path)
    problems = notebooks.slide_problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    assert any(c.metadata.slideshow.slide_type == "notes" for c in nb.cells), (
        f"{path.name}: add speaker notes (markdown cells with slide_type 'notes')")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_key_terms_are_in_glossary(path: Path, glossary: dict[str, tuple[str, str]]) -> None:
    nb = notebooks.read(path)
    problems = notebooks.glossary_problems(nb, glossary)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    assert notebooks.key_terms(nb), f"{path.name}: link its key terms to GLOSSARY.md"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    problems = notebooks.link_problems(notebooks.read(path), path.parent)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", LESSONS[:-1], ids=lambda p: p.name)
def test_each_lesson_ends_with_a_link_to_the_next(path: Path) -> None:
    """The last (non-notes) markdown cell says "Next:" with a link a reader can click."""
    following = LESSONS[LESSONS.index(path) + 1].name
    nb = notebooks.read(path)
    last = [c for c in nb.cells if c.cell_type == "markdown"
            and c.get("metadata", {}).get("slideshow", {}).get("slide_type") != "notes"][-1]
    assert "Next:" in last.source and f"]({following})" in last.source, \
        f"{path.name}: end with 'Next: [..](<{following}>)'"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_imports_course_lib_instead_of_copying(path: Path, library_names: set[str]) -> None:
    nb = notebooks.read(path)
    problems = notebooks.redefinition_problems(nb, library_names)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    first_code = next(cell.source for _, cell in notebooks.code_cells(nb))
    assert "course_lib" in first_code and "setup_notebook" in first_code, (
        f"{path.name}: the first code cell should import course_lib and call setup_notebook()")


def test_glossary_anchors_unique() -> None:
    text = (ROOT / "GLOSSARY.md").read_text(encoding="utf-8")
    anchors = notebooks.GLOSSARY_ROW.findall(text)
    ids = [a for a, _, _ in anchors]
    assert len(ids) == len(set(ids)), "duplicate anchors in GLOSSARY.md"
    for anchor, english, chinese in anchors:
        assert english and chinese, f"glossary row {anchor} needs both terms"


def test_format_checks_catch_violations() -> None:
    """The format rules themselves reject bad notebooks (so the tests above can fail)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    answer = new_code_cell("def f(x):\n    return x", metadata={"nbgrader": {
        "grade": False, "grade_id": "x", "locked": False, "schema_version": 3,
        "solution": True, "task": False}})
    nb = new_notebook(cells=[new_markdown_cell("[attention (注意力)](../GLOSSARY.md#nope)"),
                             answer, new_code_cell("print(1)", execution_count=3)])
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1")]
    assert notebooks.stored_output_problems(nb)
    problems = notebooks.exercise_problems(nb)
    assert any("BEGIN SOLUTION" in p for p in problems)
    assert any("test cell" in p for p in problems)
    assert notebooks.slide_problems(nb)
    assert notebooks.glossary_problems(nb, {"attention": ("attention", "注意力")})
    broken = new_notebook(cells=[new_markdown_cell("see [x]({G}reinforce) and [y](nope.ipynb)")])
    assert len(notebooks.link_problems(broken, ROOT / "notebooks")) == 2
    bad_copy = new_notebook(cells=[new_code_cell("class MultiHeadAttention:\n    pass")])
    assert notebooks.redefinition_problems(bad_copy, {"MultiHeadAttention"})


def test_strip_solutions_and_hidden_tests() -> None:
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")
    assert notebooks.strip_solutions(source) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    test = "check(f)\n### BEGIN HIDDEN TESTS\ncheck(g)\n### END HIDDEN TESTS\ndone()"
    assert notebooks.strip_hidden_tests(test) == "check(f)\ndone()"


def test_release_writes_student_versions(tmp_path: Path) -> None:
    """`course release` removes every solution and hidden test, and keeps every test cell."""
    from course_tools.cli import main

    assert main(["release", "--out", str(tmp_path), *map(str, LESSONS)]) == 0
    for path in LESSONS:
        source, student = notebooks.read(path), notebooks.read(tmp_path / path.name)
        assert len(student.cells) == len(source.cells)
        for before, after in zip(source.cells, student.cells, strict=True):
            assert notebooks.SOLUTION_BEGIN not in after.source
            assert notebooks.HIDDEN_BEGIN not in after.source
            if notebooks.is_answer_cell(before):
                assert "raise NotImplementedError()" in after.source
        assert not notebooks.stored_output_problems(student)
