"""The learner's path: learner copies, the release transform's locks, short feedback in
IPython, explained NameErrors, Chinese plot labels, `course progress` and glossary links."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest

from course_lib.notebook import checks, feedback, fonts
from course_lib.notebook import environment as env
from course_lib.notebook import plots as viz
from course_tools import learner, notebooks, progress

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
LESSON_00 = REPO / "notebooks" / "00_welcome.ipynb"


# --- the release transform -------------------------------------------------------------

def test_student_version_locks_tests_and_learner_copy_drops_instructor_cells() -> None:
    source = notebooks.read(REPO / "notebooks" / "03_attention_basics.ipynb")
    release = notebooks.student_version(source)
    copy = notebooks.student_version(source, learner=True)
    assert len(release.cells) == len(source.cells)  # nbgrader's release keeps every cell
    assert not any(notebooks.is_instructor_cell(c) for c in copy.cells)
    assert any(notebooks.is_instructor_cell(c) for c in source.cells)
    assert copy.metadata.kernelspec.name == notebooks.KERNEL_NAME
    for nb in (release, copy):
        tests = [c for c in nb.cells if notebooks.is_test_cell(c)]
        answers = [c for c in nb.cells if notebooks.is_answer_cell(c)]
        assert tests and answers
        for cell in tests:
            assert cell.metadata.editable is False and cell.metadata.deletable is False
            assert notebooks.HIDDEN_BEGIN not in cell.source
            assert ("raises-exception" in notebooks.tags(cell)) == (nb is copy)
        for cell in answers:
            assert cell.metadata.deletable is False and "editable" not in cell.metadata
            assert notebooks.SOLUTION_BEGIN not in cell.source
            assert "raise NotImplementedError()" in cell.source
    assert "checks.summary(['masked_softmax', 'sdpa', 'additive_scores', 'fixed_attention'])" \
        in copy.cells[-1].source
    # the source notebook is left as it was
    assert any(notebooks.SOLUTION_BEGIN in c.source for c in source.cells)


# --- learner copies --------------------------------------------------------------------

@pytest.fixture()
def course(tmp_path: Path) -> Path:
    """A course with two lessons (copies of lesson 00)."""
    (tmp_path / "notebooks").mkdir()
    for name in ("00_welcome.ipynb", "01_next.ipynb"):
        shutil.copy(LESSON_00, tmp_path / "notebooks" / name)
    return tmp_path


def _change_lesson(path: Path, text: str) -> None:
    nb = notebooks.read(path)
    nb.cells[0].source += text
    nbformat.write(nb, str(path))


def test_copies_are_made_once_and_never_overwritten_without_asking(course: Path) -> None:
    out = course / "learner"
    report = learner.update_copies(course / "notebooks", out)
    assert report.created == ["00_welcome.ipynb", "01_next.ipynb"]
    copy = notebooks.read(out / "00_welcome.ipynb")
    assert not any(notebooks.SOLUTION_BEGIN in c.source for c in copy.cells)
    assert json.loads((out / learner.MANIFEST).read_text()).keys() == {
        "00_welcome.ipynb", "01_next.ipynb"}
    assert learner.update_copies(course / "notebooks", out).current == [
        "00_welcome.ipynb", "01_next.ipynb"]

    # the learner edits 00; the course then changes both lessons and adds a third
    edited = notebooks.read(out / "00_welcome.ipynb")
    edited.cells[0].source += "\nmy notes"
    nbformat.write(edited, str(out / "00_welcome.ipynb"))
    mine = (out / "00_welcome.ipynb").read_bytes()
    for name in ("00_welcome.ipynb", "01_next.ipynb"):
        _change_lesson(course / "notebooks" / name, "\nupdated")
    shutil.copy(LESSON_00, course / "notebooks" / "02_new.ipynb")
    offered: list[list[str]] = []
    report = learner.update_copies(course / "notebooks", out,
                                   refresh=lambda names: offered.append(names) or False)
    assert report.created == ["02_new.ipynb"]
    assert offered == [["01_next.ipynb"]]  # only the untouched copy is offered
    assert report.kept_edited == ["00_welcome.ipynb"] and report.kept_untouched == ["01_next.ipynb"]
    assert "updated" not in notebooks.read(out / "01_next.ipynb").cells[0].source
    report = learner.update_copies(course / "notebooks", out, refresh=lambda names: True)
    assert report.refreshed == ["01_next.ipynb"]
    assert "updated" in notebooks.read(out / "01_next.ipynb").cells[0].source
    assert (out / "00_welcome.ipynb").read_bytes() == mine  # the learner's work, untouched


def test_a_copy_saved_by_jupyterlab_without_edits_still_counts_as_untouched(course: Path) -> None:
    out = course / "learner"
    learner.update_copies(course / "notebooks", out)
    path = out / "01_next.ipynb"
    copy = json.loads(path.read_text())
    assert copy["metadata"]["language_info"] == learner.language_info()  # as Lab saves it
    assert copy["metadata"]["language_info"]["version"].count(".") == 2
    # what JupyterLab may do on opening and autosaving: new metadata, another layout
    copy["metadata"]["language_info"]["version"] = "3.99.0"
    copy["metadata"]["widgets"] = {"state": {}}
    for cell in copy["cells"]:
        cell["metadata"]["trusted"] = True
    path.write_text(json.dumps(copy, indent=2))
    # and the learner runs a cell of the other copy: outputs are work, kept
    ran = notebooks.read(out / "00_welcome.ipynb")
    code = next(c for c in ran.cells if c.cell_type == "code")
    code.execution_count, code.outputs = 1, [nbformat.v4.new_output("stream", text="hi\n")]
    nbformat.write(ran, str(out / "00_welcome.ipynb"))
    for name in ("00_welcome.ipynb", "01_next.ipynb"):
        _change_lesson(course / "notebooks" / name, "\nupdated")
    report = learner.update_copies(course / "notebooks", out, refresh=lambda names: True)
    assert report.refreshed == ["01_next.ipynb"] and report.kept_edited == ["00_welcome.ipynb"]
    assert "updated" in notebooks.read(path).cells[0].source
    # a lesson unchanged since its copy was written: the copy is current, run or not
    ran = notebooks.read(path)
    code = next(c for c in ran.cells if c.cell_type == "code")
    code.execution_count, code.outputs = 1, [nbformat.v4.new_output("stream", text="hi\n")]
    nbformat.write(ran, str(path))
    report = learner.update_copies(course / "notebooks", out)
    assert report.current == ["01_next.ipynb"] and report.kept_edited == ["00_welcome.ipynb"]


def test_a_manifest_from_before_fingerprints_still_works(course: Path) -> None:
    out = course / "learner"
    learner.update_copies(course / "notebooks", out)
    old_style = {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
                 for name in ("00_welcome.ipynb", "01_next.ipynb")}
    (out / learner.MANIFEST).write_text(json.dumps(old_style))
    _change_lesson(course / "notebooks" / "01_next.ipynb", "\nupdated")
    report = learner.update_copies(course / "notebooks", out, refresh=lambda names: True)
    assert report.refreshed == ["01_next.ipynb"] and report.current == ["00_welcome.ipynb"]


def test_kernel_and_lab_settings(tmp_path: Path) -> None:
    spec = json.loads((learner.install_kernel(tmp_path) / "kernel.json").read_text())
    assert "--InteractiveShellApp.extensions=course_lib.notebook.feedback" in spec["argv"]
    path = learner.install_lab_settings(tmp_path)
    path.write_text(json.dumps({"other": {"x": 1}}))
    learner.install_lab_settings(tmp_path)  # merges, keeps what was there
    settings = json.loads(path.read_text())
    assert settings["other"] == {"x": 1}
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    command = learner.lab_command(tmp_path, ["--no-browser"])
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in command and command[-1] == "--no-browser"


# --- feedback in IPython ---------------------------------------------------------------

@pytest.fixture()
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    yield ip
    ip.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_failed_check_renders_one_short_message_and_folds_the_traceback(shell, capsys) -> None:
    def forgot_normalising(x):
        return x * 2

    with pytest.raises(checks.CheckFailed) as failure:
        checks.check_function(forgot_normalising, lambda x: x, lambda rng: (rng.normal(size=3),))
    lines = failure.value._render_traceback_()
    assert lines[0].startswith("\x1b[1;31m✗ forgot_normalising failed random test 1")
    assert len(lines) <= 4 and not any("checks.py" in line for line in lines)
    shell.events.trigger("post_execute")  # the folded full traceback comes after the cell
    shown = capsys.readouterr().out
    assert "full traceback" in shown and "checks.py" in shown
    shell.events.trigger("post_execute")  # shown once only
    assert capsys.readouterr().out == ""


def test_summary_reports_the_last_outcome_of_each_check(capsys) -> None:
    def square(x):
        return x ** 2

    checks.check_function(square, lambda x: x * x, lambda rng: (rng.normal(size=2),))
    with pytest.raises(checks.CheckFailed):
        checks.check_function(square, lambda x: x, lambda rng: (rng.normal(size=2),),
                              name="cube")
    capsys.readouterr()
    checks.summary(["square", "cube", "never_run"])
    out = capsys.readouterr().out
    assert "✓ square: passed" in out and "✗ cube: cube failed random test 1" in out
    assert "· never_run: not checked yet" in out and "1 of 3 passed" in out


def test_error_raised_by_a_known_mistake_is_named() -> None:
    def no_keepdims(x):
        return x / x.sum(axis=-1)

    with pytest.raises(checks.CheckFailed, match="It looks like you forgot keepdims"):
        checks.check_function(no_keepdims, lambda x: x / x.sum(axis=-1, keepdims=True),
                              lambda rng: (rng.random((2, 3)),),
                              mistakes={"forgot keepdims": no_keepdims})


def test_name_errors_say_which_cell_to_run(shell, capsys) -> None:
    feedback.load_ipython_extension(shell)
    shell.run_cell("checks.check_function(stable_softmax, numpy_ref.softmax, make)")
    out = capsys.readouterr().out
    assert "run the lesson's setup cell first" in out and "Traceback" not in out
    shell.run_cell("from course_lib import checks\nchecks.check_function(stable_softmax, 1, 2)")
    assert "run the answer cell above first" in capsys.readouterr().out
    shell.run_cell("print(key_dim)")
    assert "run the cells above this one first" in capsys.readouterr().out
    assert "answer cell" in feedback.explain_name_error("sdpa", "checks.check_function(sdpa)")
    assert "setup cell" in feedback.explain_name_error("masks", "masks.causal_mask(3)")


# --- Chinese plot labels ---------------------------------------------------------------

def test_has_cjk_font_absent_and_present() -> None:
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"font.sans-serif": ["DejaVu Sans"]}):
        assert not viz.has_cjk_font()
        assert viz.cjk_label("2026年") == "2026nian"
    assert env.packaged_cjk_font(), "pylopdf-fonts-zh-cn (a dependency) should ship Noto Sans SC"
    with matplotlib.rc_context():
        fonts.use_cjk_font(plt)
        assert viz.has_cjk_font()
        assert viz.cjk_label("2026年") == "2026年"
        fig, ax = plt.subplots()
        ax.set_title("注意力 · attention")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing glyph would warn
            fig.canvas.draw()
        plt.close(fig)


# --- progress --------------------------------------------------------------------------

def test_exercise_cells_follow_names_to_the_cells_that_define_them() -> None:
    nb = notebooks.read(REPO / "notebooks" / "04_seq2seq_attention.ipynb")
    keep = progress.exercise_cells(nb)
    assert progress.setup_cell(nb) == keep[0]
    sources = [nb.cells[i].source for i in keep]
    assert not any("train(" in s for s in sources)  # training is not needed by the checks
    assert all(notebooks.is_answer_cell(nb.cells[i]) or notebooks.is_test_cell(nb.cells[i])
               for i in keep[1:]), "the one-line test cells need only the setup cell"
    defined, used = progress.cell_names("import numpy as np\nx = np.ones(3)\nprint(y, len(x))")
    assert defined == {"np", "x"} and used == {"y"}


def test_exercises_are_numbered_and_named_as_in_the_notebook() -> None:
    nb = notebooks.read(REPO / "notebooks" / "03_attention_basics.ipynb")
    assert progress.exercise_numbers(nb) == {"l03_masked_softmax": 1, "l03_sdpa": 2,
                                             "l03_additive": 3, "l03_bug_hunt": 4}
    row = progress.Row("03_attention_basics", "l03_bug_hunt", 3, "failed", 4,
                       ("fixed_attention",), "It looks like you " + "kept mistake (2) " * 12)
    table = progress.format_table([row])
    assert "03 · attention basics  (0/3 points)" in table
    assert "✗ Exercise 4 · fixed_attention" in table
    assert "It looks like you kept mistake (2)" in table
    assert " ".join(table.split()).count("kept mistake (2)") == 12, "wrapped, not cut"


def test_progress_table(tmp_path: Path) -> None:
    folder = tmp_path / "learner"
    learner.update_copies(REPO / "notebooks", folder)
    for path in folder.glob("0[1-9]*.ipynb"):
        path.unlink()
    rows = progress.lesson_progress(folder / "00_welcome.ipynb", timeout=120)
    assert [(r.exercise, r.status, r.title) for r in rows] == [
        ("l00_softmax", "not written yet", "Exercise 1 · stable_softmax")]
    before = (folder / "00_welcome.ipynb").read_bytes()
    nb = notebooks.read(folder / "00_welcome.ipynb")
    answer = next(c for c in nb.cells if notebooks.is_answer_cell(c))
    answer.source = ("def stable_softmax(x):\n    e = np.exp(x - x.min(axis=-1, keepdims=True))\n"
                     "    return e / e.sum(axis=-1, keepdims=True)\n")
    nbformat.write(nb, str(folder / "00_welcome.ipynb"))
    rows = progress.lesson_progress(folder / "00_welcome.ipynb", timeout=120)
    assert rows[0].status == "failed", rows
    assert rows[0].message.startswith("It looks like you subtracted the row minimum"), rows
    table = progress.format_table(rows)
    assert "0 of 1 exercises passed" in table and "It looks like you subtracted" in table
    assert (folder / "00_welcome.ipynb").read_bytes() != before  # our edit, not progress'
    answer.source = "def stable_softmax(x):\n    return numpy_ref.softmax(x)\n"
    nbformat.write(nb, str(folder / "00_welcome.ipynb"))
    rows = progress.lesson_progress(folder / "00_welcome.ipynb", timeout=120)
    assert "the course_lib function this exercise asks you to write" in rows[0].message
    solved = notebooks.read(LESSON_00)
    answer.source = next(c for c in solved.cells if notebooks.is_answer_cell(c)).source
    nbformat.write(nb, str(folder / "00_welcome.ipynb"))
    rows = progress.run_lessons([folder / "00_welcome.ipynb"], timeout=120, show=False)
    assert rows[0].status == "passed"
    assert "1 of 1 exercises passed" in progress.format_table(rows)


# --- glossary links --------------------------------------------------------------------

def test_glossary_links_resolve_inside_the_served_folder() -> None:
    """JupyterLab serves the repository root (``course lab``); learner copies sit in
    ``learner/`` next to ``notebooks/``, so ``../GLOSSARY.md`` is served from both, and
    on a code-hosting site. Every anchor exists (the format test checks the terms)."""
    anchors = set(notebooks.load_glossary(REPO / "GLOSSARY.md"))
    for path in notebooks.lesson_paths(REPO / "notebooks"):
        for cell in notebooks.read(path).cells:
            for target in notebooks.MARKDOWN_LINK.findall(cell.source):
                if ":" in target.split("#")[0] or target.startswith("#"):
                    continue
                for folder in (REPO / "notebooks", REPO / learner.LEARNER_DIR):
                    resolved = (folder / target.split("#")[0]).resolve()
                    assert resolved.is_relative_to(REPO), f"{path.name}: {target} leaves the root"
                    assert resolved.exists() or resolved.suffix == ".ipynb", target
                if "GLOSSARY.md#" in target:
                    assert target.split("#")[1] in anchors, target


def test_html_pages_link_a_rendered_glossary(tmp_path: Path) -> None:
    from course_tools import pages

    nb = notebooks.student_version(notebooks.read(REPO / "notebooks" / "01_ai_history.ipynb"))
    (tmp_path / "html").mkdir()
    page = pages.lesson_html(nb)
    (tmp_path / "html" / "01_ai_history.html").write_text(page, encoding="utf-8")
    (tmp_path / "html" / "02_rnn_limits.html").write_text("", encoding="utf-8")
    glossary = pages.write_glossary(REPO / "GLOSSARY.md", tmp_path).read_text(encoding="utf-8")
    links = pages.local_links(page)
    assert any("GLOSSARY.html#" in link for link in links)
    for link in links:
        target, _, anchor = link.partition("#")
        assert (tmp_path / "html" / target).resolve().exists(), link
        if target.endswith("GLOSSARY.html") and anchor:
            assert f'id="{anchor}"' in glossary, link
