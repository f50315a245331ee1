"""The one cell-dependency analyser: which cells an exercise needs, from the code alone.

``course grade`` and ``course progress`` both run only what the exercises need: the set-up
cells that define the names the answer and test cells use (transitively), never the
demonstrations, plots and training runs in between. Both ask this module, so they run the same
cells for an exercise. Everything works on source text (the AST): a submission cannot
influence it by running code, and a new lesson needs no configuration.

- :func:`cell_names`: the names a cell binds and the names it reads from earlier cells;
- :func:`classify`: a notebook's code cells as answer, test, set-up or skipped cells;
- :func:`exercises`: each test cell with the answer cells it grades;
- :func:`needed_cells` / :func:`exercise_cells`: the set-up cells a set of names needs.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import nbformat

from course_tools import notebooks

__all__ = ["python_source", "parse", "cell_names", "source_names", "CodeCell", "classify",
           "exercises", "needed_cells", "exercise_needs", "exercise_cells", "setup_table",
           "SKIP_TAGS"]

SKIP_TAGS = {"gpu", "skip-grading"}  # cells neither the grader nor progress ever runs
_MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)


def python_source(source: str) -> str:
    """Cell source as plain Python (IPython magics and shell escapes translated)."""
    if not _MAGIC.search(source):
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def parse(source: str) -> ast.Module:
    """The AST of a cell (raises ``SyntaxError``)."""
    return ast.parse(python_source(source))


def _targets(node: ast.AST) -> Iterable[str]:
    """Names bound by an assignment target (tuples unpacked; ``a.b = ...`` binds ``a``)."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _targets(element)
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)
    elif isinstance(node, (ast.Attribute, ast.Subscript)):
        root = _root_name(node)
        if root:
            yield root  # mutating an object counts as defining it for later cells


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def cell_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """``(defined, used)``: names a cell binds at top level, and names it reads from earlier
    cells (builtins left out). Scopes are followed roughly (parameters, locals, loop
    variables); the error is on the safe side: grading may run a cell it did not need."""
    defined: set[str] = set()
    used: set[str] = set()
    late: set[str] = set()  # read inside functions: the cell may define them further down
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            now = list(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                now += node.args.defaults + [d for d in node.args.kw_defaults if d]
            else:
                now += node.bases + [k.value for k in node.keywords]
            for part in now:
                used |= _loads(part) - defined
            late |= _scope_free(node)
        else:
            used |= _loads(node) - defined
        defined |= _statement_bindings(node)
    used |= late - defined
    return defined, used - set(dir(builtins))


def _loads(node: ast.AST) -> set[str]:
    """Names an expression or statement reads, less those bound by its own lambdas,
    comprehensions and nested functions (their bodies are scopes of their own)."""
    loads: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            loads.add(child.id)
    scoped: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            scoped |= _scope_locals(child)
        elif isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for generator in child.generators:
                scoped |= set(_targets(generator.target))
    return loads - scoped


def _scope_locals(node: ast.AST) -> set[str]:
    args = node.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a}
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            names.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and child is not node:
            names.add(child.name)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in child.names}
        elif isinstance(child, ast.arguments):
            names |= {a.arg for a in child.posonlyargs + child.args + child.kwonlyargs}
            names |= {a.arg for a in (child.vararg, child.kwarg) if a}
    return names


def _scope_free(node: ast.AST) -> set[str]:
    """Names a function or class reads that it does not bind itself."""
    loads = {child.id for child in ast.walk(node)
             if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)}
    if isinstance(node, ast.ClassDef):
        locals_ = set()
        for child in ast.walk(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                locals_ |= _scope_locals(child)
    else:
        locals_ = _scope_locals(node)
    return loads - locals_


def _statement_bindings(node: ast.stmt) -> set[str]:
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(node.name)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            names |= set(_targets(target))
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        names |= set(_targets(node.target))
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        names |= set(_targets(node.target))
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                names |= set(_targets(item.optional_vars))
    if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor,
                         ast.AsyncWith)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= _statement_bindings(child)
        for handler in getattr(node, "handlers", []):
            for child in handler.body:
                names |= _statement_bindings(child)
    if isinstance(node, ast.Expr) or isinstance(node, ast.Assign):
        for n in ast.walk(node):
            if isinstance(n, ast.NamedExpr):
                names.add(n.target.id)
    return names


def needed_cells(cells: Sequence[tuple[int, set[str], set[str]]], wanted: Iterable[tuple[int,
                 set[str]]]) -> list[int]:
    """Indices of the cells that must run so that each ``(position, names)`` in ``wanted``
    finds its names defined.

    ``cells`` lists the candidate set-up cells as ``(index, defined, used)`` in notebook
    order. A name is taken from every candidate before the position that binds it (a later
    cell may add to an object an earlier one made), and those cells' own names likewise.
    """
    needed: set[int] = set()
    queue = [(position, name) for position, names in wanted for name in names]
    seen: set[tuple[int, str]] = set()
    while queue:
        position, name = queue.pop()
        if (position, name) in seen:
            continue
        seen.add((position, name))
        for index, defined, used in cells:
            if index < position and name in defined and index not in needed:
                needed.add(index)
                queue += [(index, other) for other in used]
    return sorted(needed)


def source_names(source: str) -> tuple[set[str], set[str]]:
    """:func:`cell_names` of a cell's source text; a cell that does not parse binds and
    reads nothing."""
    try:
        return cell_names(parse(source))
    except SyntaxError:
        return set(), set()


@dataclass
class CodeCell:
    """A code cell of a lesson, parsed once."""

    index: int                    # position in the notebook's list of cells
    source: str
    kind: str                     # "answer", "test", "setup" or "skip"
    grade_id: str | None
    defined: set[str]
    used: set[str]


def classify(nb: nbformat.NotebookNode) -> list[CodeCell]:
    """Every code cell of ``nb`` with its kind and names: nbgrader answer and test cells,
    cells tagged ``gpu`` or ``skip-grading`` (never run), and set-up cells (the rest, run
    only when an exercise needs a name they define)."""
    cells = []
    for index, cell in notebooks.code_cells(nb):
        if notebooks.is_answer_cell(cell):
            kind = "answer"
        elif notebooks.is_test_cell(cell):
            kind = "test"
        elif SKIP_TAGS & set(notebooks.tags(cell)):
            kind = "skip"
        else:
            kind = "setup"
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cells.append(CodeCell(index, cell.source, kind, grade_id, *source_names(cell.source)))
    return cells


def exercises(cells: Sequence[CodeCell]) -> list[tuple[CodeCell, list[CodeCell]]]:
    """``(test cell, answer cells)`` for each exercise: a test grades the answer cells since
    the previous test."""
    found, pending = [], []
    for cell in cells:
        if cell.kind == "answer":
            pending.append(cell)
        elif cell.kind == "test":
            found.append((cell, pending))
            pending = []
    return found


def setup_table(cells: Sequence[CodeCell]) -> list[tuple[int, set[str], set[str]]]:
    """The candidates of :func:`needed_cells`: ``(index, defined, used)`` of the set-up cells."""
    return [(c.index, c.defined, c.used) for c in cells if c.kind == "setup"]


def exercise_needs(cells: Sequence[CodeCell]) -> list[tuple[int, set[str]]]:
    """``(position, names)`` the exercises need from set-up cells: what each answer cell
    reads, and what each test cell reads besides the answers' names (the answers define
    those, so an earlier demonstration that happens to bind the same name is not needed)."""
    answer_names = {name for c in cells if c.kind == "answer" for name in c.defined}
    return [(c.index, c.used - answer_names if c.kind == "test" else c.used)
            for c in cells if c.kind in ("answer", "test")]


def exercise_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells that grading runs for ``nb``'s exercises, in notebook order:
    every answer and test cell, and the set-up cells that define the names they need
    (:func:`exercise_needs`)."""
    cells = classify(nb)
    graded = {c.index for c in cells if c.kind in ("answer", "test")}
    return sorted(set(needed_cells(setup_table(cells), exercise_needs(cells))) | graded)
