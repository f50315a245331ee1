"""Reading and checking the lesson notebooks: outputs, exercises, slides, glossary links.

The format tests, ``course clean`` and ``course build`` share these functions, so the rules
in CONTRIBUTING.md are written down once, here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat

GPU_TAG = "gpu"  # code cells that need CUDA; skipped by the tests and tools without it
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
GLOSSARY_LINK = re.compile(r"\[([^\]]+)\]\((?:\.\./|\./)?GLOSSARY\.md#([A-Za-z0-9_-]+)\)")
GLOSSARY_ROW = re.compile(r'^\|\s*<a id="([A-Za-z0-9_-]+)"></a>\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|',
                          re.MULTILINE)
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DEFINITION = re.compile(r"^\s*(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def read(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook (nbformat 4)."""
    return nbformat.read(str(path), as_version=4)


def lesson_paths(folder: str | Path = "notebooks") -> list[Path]:
    """The lesson notebooks, in course order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def lesson_number(name: str | Path) -> str | None:
    """``"03"`` for ``03_attention_basics.ipynb`` (or a path to it); ``None`` for a name that
    does not start with a two-digit lesson number."""
    stem = Path(name).name
    return stem[:2] if len(stem) > 2 and stem[:2].isdigit() and stem[2] == "_" else None


def resolve_lessons(names: list[str] | None, folder: str | Path = "notebooks") -> list[Path]:
    """Lesson notebooks from command-line names, the one place lesson numbers become paths.

    Each name is a notebook path (``notebooks/03_attention_basics.ipynb``), a file name of a
    lesson in ``folder`` (``03_attention_basics.ipynb``) or a lesson number (``3`` or ``03``).
    No names: every lesson in ``folder``. Raises ``ValueError`` naming an unknown lesson and
    the lessons there are.
    """
    folder = Path(folder)
    available = lesson_paths(folder)
    if not names:
        return available
    paths: list[Path] = []
    for name in names:
        if Path(name).suffix == ".ipynb":
            found = [Path(name)] if Path(name).parent != Path() or Path(name).exists() else \
                [p for p in available if p.name == name]
        else:
            found = [p for p in available if name.isdigit() and p.name[:2] == name.zfill(2)]
        if not found:
            raise ValueError(f"no lesson {name!r}: give a notebook path or a lesson number "
                             f"({', '.join(p.name[:2] for p in available)})")
        paths += [p for p in found if p not in paths]
    return paths


def code_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, nbformat.NotebookNode]]:
    """``(index, cell)`` for every code cell."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            yield index, cell


def tags(cell: nbformat.NotebookNode) -> list[str]:
    """The cell's tags (empty list if none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_answer_cell(cell: nbformat.NotebookNode) -> bool:
    """An nbgrader answer cell (solution, not graded)."""
    grading = cell.get("metadata", {}).get("nbgrader", {})
    return bool(grading.get("solution")) and not grading.get("grade")


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    """An nbgrader autograded test cell."""
    grading = cell.get("metadata", {}).get("nbgrader", {})
    return bool(grading.get("grade")) and not grading.get("solution")


def clean(nb: nbformat.NotebookNode) -> bool:
    """Strip outputs, execution counts and per-run metadata in place; return True if changed."""
    changed = False
    for _, cell in code_cells(nb):
        if cell.get("outputs"):
            cell["outputs"] = []
            changed = True
        if cell.get("execution_count") is not None:
            cell["execution_count"] = None
            changed = True
        for key in ("execution", "collapsed", "scrolled"):
            if key in cell.get("metadata", {}):
                del cell["metadata"][key]
                changed = True
    for key in ("widgets", "jupytext"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def stored_output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Cells stored with outputs or execution counts."""
    problems = []
    for index, cell in code_cells(nb):
        if cell.get("outputs"):
            problems.append(f"cell {index} is stored with outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} is stored with execution_count {cell.execution_count}")
    return problems


def exercise_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Violations of the nbgrader exercise format (see CONTRIBUTING.md)."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    cells = nb.cells
    for index, cell in enumerate(cells):
        grading = cell.get("metadata", {}).get("nbgrader")
        if grading is None:
            continue
        where = f"cell {index}"
        grade_id = grading.get("grade_id")
        if not grade_id:
            problems.append(f"{where}: nbgrader metadata has no grade_id")
            continue
        if grade_id in seen:
            problems.append(f"{where}: grade_id {grade_id!r} already used by cell {seen[grade_id]}")
        seen[grade_id] = index
        if grading.get("schema_version") != 3:
            problems.append(f"{where} ({grade_id}): schema_version should be 3")
        if is_answer_cell(cell):
            problems += _answer_problems(cells, index, grade_id)
        elif is_test_cell(cell):
            problems += _test_problems(cell, grade_id, where)
        elif grading.get("solution") and grading.get("grade"):
            problems.append(f"{where} ({grade_id}): manually graded answer cells are not "
                            "supported: course release cannot strip their solution")
    return problems


def _answer_problems(cells: list, index: int, grade_id: str) -> list[str]:
    cell, where = cells[index], f"cell {index} ({grade_id})"
    problems = []
    if cell.cell_type != "code":
        problems.append(f"{where}: answer cells must be code cells")
    if SOLUTION_BEGIN not in cell.source or SOLUTION_END not in cell.source:
        problems.append(f"{where}: answer cell lacks {SOLUTION_BEGIN!r} / {SOLUTION_END!r}")
    if cell.metadata.nbgrader.get("locked"):
        problems.append(f"{where}: answer cells must not be locked")
    following = next((c for c in cells[index + 1:] if c.cell_type == "code"), None)
    if following is None or not is_test_cell(following):
        problems.append(f"{where}: the next code cell must be its nbgrader test cell")
    return problems


def _test_problems(cell: nbformat.NotebookNode, grade_id: str, where: str) -> list[str]:
    problems = []
    points = cell.metadata.nbgrader.get("points")
    if not isinstance(points, (int, float)) or points <= 0:
        problems.append(f"{where} ({grade_id}): test cell needs points > 0, got {points!r}")
    if not cell.metadata.nbgrader.get("locked"):
        problems.append(f"{where} ({grade_id}): test cells must be locked")
    if "checks." not in cell.source and "check_" not in cell.source:
        problems.append(f"{where} ({grade_id}): test cell should call "
                        "course_lib.notebook.checks")
    if (HIDDEN_BEGIN in cell.source) != (HIDDEN_END in cell.source):
        problems.append(f"{where} ({grade_id}): unbalanced HIDDEN TESTS markers")
    return problems


def slide_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Cells without a valid ``slideshow.slide_type``; the first cell must start a slide."""
    problems = []
    for index, cell in enumerate(nb.cells):
        slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if slide_type not in SLIDE_TYPES:
            problems.append(f"cell {index}: slideshow.slide_type is {slide_type!r}, "
                            f"expected one of {sorted(SLIDE_TYPES)}")
    if nb.cells and nb.cells[0].get("metadata", {}).get("slideshow", {}).get(
            "slide_type") != "slide":
        problems.append("cell 0: the first cell must have slide_type 'slide'")
    return problems


def load_glossary(path: str | Path = "GLOSSARY.md") -> dict[str, tuple[str, str]]:
    """``anchor -> (english, chinese)`` for every row of the glossary."""
    text = Path(path).read_text(encoding="utf-8")
    return {anchor: (english.strip(), chinese.strip())
            for anchor, english, chinese in GLOSSARY_ROW.findall(text)}


def glossary_problems(nb: nbformat.NotebookNode, glossary: dict[str, tuple[str, str]]) -> list[str]:
    """Key-term links whose anchor is missing from the glossary or whose text omits its terms."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for text, anchor in GLOSSARY_LINK.findall(cell.source):
            if anchor not in glossary:
                problems.append(f"cell {index}: key term [{text}] links to #{anchor}, "
                                f"which GLOSSARY.md does not define")
                continue
            english, chinese = glossary[anchor]
            chinese_core = chinese.split("(")[0].strip()
            # spaces aside: Chinese text puts one between Chinese and Latin letters
            # ("视觉 Transformer"), which the glossary's cell may not
            if english.lower() not in text.lower() or \
                    chinese_core.replace(" ", "") not in text.replace(" ", ""):
                problems.append(f"cell {index}: key term [{text}] should contain the glossary's "
                                f"'{english}' and '{chinese_core}'")
    return problems


def link_problems(nb: nbformat.NotebookNode, folder: str | Path) -> list[str]:
    """Relative markdown links whose target file does not exist (web links are not checked:
    the tests run offline)."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for target in MARKDOWN_LINK.findall(cell.source):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # http:, https:, mailto: ... or an anchor in the same notebook
            path = target.split("#", 1)[0]
            if not (Path(folder) / path).exists():
                problems.append(f"cell {index}: link target {target!r} does not exist")
    return problems


def key_terms(nb: nbformat.NotebookNode) -> list[str]:
    """Glossary anchors a notebook links to, in order of first use."""
    anchors: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for _, anchor in GLOSSARY_LINK.findall(cell.source):
                if anchor not in anchors:
                    anchors.append(anchor)
    return anchors


def redefinition_problems(nb: nbformat.NotebookNode, library_names: set[str]) -> list[str]:
    """Code cells (other than exercise answers) that define a name course_lib exports."""
    problems = []
    for index, cell in code_cells(nb):
        if is_answer_cell(cell):
            continue
        for name in DEFINITION.findall(cell.source):
            if name in library_names:
                problems.append(f"cell {index}: defines {name!r}, which course_lib already "
                                f"provides; import it instead")
    return problems


def marked_blocks(source: str, begin: str, end: str) -> list[tuple[bool, str]]:
    """``source`` cut at the marker lines ``begin``/``end`` (e.g. :data:`SOLUTION_BEGIN`,
    :data:`HIDDEN_BEGIN`): ``(inside, text)`` parts in order, the marker lines left out. The
    one parser of the course's markers: release, learner copies and the grader all call it."""
    parts: list[tuple[bool, list[str]]] = [(False, [])]
    for line in source.splitlines():
        marker = line.strip()
        if marker in (begin, end):
            inside = marker == begin
            parts.append((inside, [line] if inside else []))
        else:
            parts[-1][1].append(line)
    blocks = []
    for inside, lines in parts:
        if inside:  # keep the begin marker's indentation for the placeholder, then drop it
            indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
            blocks.append((True, indent + "\n" + "\n".join(lines[1:])))
        elif lines:
            blocks.append((False, "\n".join(lines)))
    return blocks


def _indent_and_body(block: str) -> tuple[str, str]:
    indent, _, body = block.partition("\n")
    return indent, body


def strip_solutions(source: str, placeholder: str = "raise NotImplementedError()") -> str:
    """Student version of an answer cell: each solution block becomes ``placeholder``."""
    out = []
    for inside, text in marked_blocks(source, SOLUTION_BEGIN, SOLUTION_END):
        if inside:
            indent, _ = _indent_and_body(text)
            out += [f"{indent}# YOUR CODE HERE", f"{indent}{placeholder}"]
        else:
            out.append(text)
    return "\n".join(out)


def solution_code(source: str) -> str:
    """An answer cell as a learner who solved it would leave it: the markers removed."""
    return "\n".join(_indent_and_body(text)[1] if inside else text
                     for inside, text in marked_blocks(source, SOLUTION_BEGIN, SOLUTION_END)
                     if text.strip())


def split_hidden_tests(source: str) -> list[tuple[bool, str]]:
    """A test cell as ``(hidden, code)`` parts in order, empty parts left out."""
    parts = []
    for inside, text in marked_blocks(source, HIDDEN_BEGIN, HIDDEN_END):
        code = _indent_and_body(text)[1] if inside else text
        if code.strip():
            parts.append((inside, code))
    return parts


def unstrippable_solutions(nb: nbformat.NotebookNode) -> list[str]:
    """Cells whose solution ``course release`` cannot strip, so releasing would leak it:
    manually graded cells (nbgrader ``solution`` and ``grade``) and answer cells without
    both solution markers (a whole-cell answer). Empty when the notebook can be released."""
    problems = []
    for index, cell in enumerate(nb.cells):
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if not grading.get("solution"):
            continue
        where = f"cell {index} ({grading.get('grade_id', 'no grade_id')})"
        if grading.get("grade"):
            problems.append(f"{where} is a manually graded answer: course release cannot "
                            "strip its solution; grade it with nbgrader, or make it an "
                            "autograded answer cell and test cell")
        elif cell.get("cell_type") != "code" or SOLUTION_BEGIN not in cell.source \
                or SOLUTION_END not in cell.source:
            problems.append(f"{where} is an answer cell without {SOLUTION_BEGIN!r} / "
                            f"{SOLUTION_END!r} markers: its whole content would be released; "
                            "put the solution between the markers")
    return problems


KERNEL_NAME = "attention-course"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Attention course", "language": "python"}
INSTRUCTOR_TAG = "instructor"  # a cell for instructors only: left out of learner copies


def is_instructor_cell(cell: nbformat.NotebookNode) -> bool:
    """Speaker notes (``slide_type`` ``notes``) and cells tagged ``instructor``."""
    slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
    return slide_type == "notes" or INSTRUCTOR_TAG in tags(cell)


def student_version(nb: nbformat.NotebookNode, *, learner: bool = False) -> nbformat.NotebookNode:
    """The release transform, shared by ``course release``, ``course lab`` and the decks.

    Returns a new notebook: outputs cleaned, each solution replaced by the placeholder,
    hidden tests cut, and cells locked as nbgrader's release locks them (test cells read-only
    and undeletable, answer cells undeletable). With ``learner=True`` (a self-study copy)
    also: speaker notes and ``instructor`` cells left out, test cells tagged
    ``raises-exception`` so that Run All goes on past a failed or blank exercise, and the
    course's kernel (which explains a missing name) selected. Raises ``ValueError`` for a
    solution it cannot strip (see :func:`unstrippable_solutions`) rather than leak it.
    """
    problems = unstrippable_solutions(nb)
    if problems:
        raise ValueError("cannot release: " + "; ".join(problems))
    out = copy.deepcopy(nb)
    clean(out)
    if learner:
        out.cells = [cell for cell in out.cells if not is_instructor_cell(cell)]
        out.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in out.cells:
        if is_answer_cell(cell):
            cell.source = strip_solutions(cell.source)
            cell.metadata["deletable"] = False
        elif is_test_cell(cell):
            cell.source = strip_hidden_tests(cell.source)
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
            if learner and "raises-exception" not in tags(cell):
                cell.metadata["tags"] = [*tags(cell), "raises-exception"]
    if learner:
        out.cells += _summary_cells(out)
    return out


# The title of a learner copy's progress cells, per edition (``metadata.course.language``).
SUMMARY_TITLE = {
    "en": "## Your progress · 你的进度\n\nThe outcome of each exercise's check in this "
          "session (run the lesson first). In a terminal, `make progress` checks every "
          "lesson of your copies.",
    "zh": "## 你的进度\n\n本次会话中每道练习的检查结果（请先运行整课）。在终端里运行 "
          "`make progress LANG=zh`，可以检查你所有副本中的每一课。",
}


def _summary_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """A learner copy's last cells: where the learner stands on this lesson's exercises."""
    names = [name for cell in nb.cells if is_answer_cell(cell)
             for name in re.findall(r"^def ([A-Za-z_]\w*)", cell.source, re.MULTILINE)]
    if not names:
        return []
    slide = {"slideshow": {"slide_type": "skip"}}
    language = nb.metadata.get("course", {}).get("language", "en")
    title = nbformat.v4.new_markdown_cell(SUMMARY_TITLE.get(language, SUMMARY_TITLE["en"]),
                                          metadata=dict(slide))
    table = nbformat.v4.new_code_cell(
        f"from course_lib import checks\n\nchecks.summary({names!r})", metadata=dict(slide))
    title.id, table.id = "learner-progress-title", "learner-progress"  # same bytes every time
    return [title, table]


def strip_hidden_tests(source: str) -> str:
    """Student version of a test cell: hidden test blocks removed."""
    return "\n".join(text for inside, text in marked_blocks(source, HIDDEN_BEGIN, HIDDEN_END)
                     if not inside)
