"""What ``course grade`` reads from cells: names, dependencies, and what an answer may not do.

Everything here works on source text (the AST), in the grader's process, so a submission
cannot influence it by running code. Three questions:

- which cells of the source notebook an answer or a test needs (:func:`needed_cells`), so
  grading runs imports and set-up but skips demonstrations and training runs;
- whether an answer cell tampers (patches a library, reaches into frames or the import
  system) or uses the reference it is asked to write (:func:`answer_problems`);
- whether it copies that reference's code (:func:`copies`).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Sequence

__all__ = ["python_source", "parse", "cell_names", "needed_cells", "defined_functions",
           "answer_problems", "copies", "normalized_body", "Problem"]

Problem = tuple[str, str]  # (status, message)

# Never needed by an exercise answer; each is a way to reach the checker, the grader's
# kernel driver or the reference behind its back.
DENIED_MODULES = {"inspect", "gc", "ctypes", "importlib", "builtins", "threading", "_thread",
                  "multiprocessing", "concurrent", "subprocess", "signal", "course_tools",
                  "marshal", "types", "sysconfig", "runpy", "code", "codeop", "dis"}
DENIED_CALLS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars",
                "breakpoint", "get_ipython"}
DENIED_ATTRIBUTES = {"__code__", "__globals__", "__closure__", "__builtins__",
                     "__subclasses__", "__kwdefaults__", "__defaults__", "__loader__",
                     "__spec__", "__dict__", "f_back", "f_globals", "f_locals", "f_builtins",
                     "f_code", "tb_frame", "gi_frame", "cr_frame", "ag_frame", "_getframe",
                     "setprofile", "settrace", "meta_path", "path_hooks", "modules",
                     "user_ns", "run_cell"}
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


def defined_functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Top-level ``def`` statements of a cell, by name."""
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def answer_problems(tree: ast.Module, *, forbidden: Iterable[tuple[str, str]],
                    library_names: set[str]) -> list[Problem]:
    """Tampering and uses of the reference in an answer cell, as ``(status, message)``.

    ``forbidden`` holds ``(module, qualname)`` of the course_lib code the exercise asks the
    learner to write; ``library_names`` the names the lesson binds by importing (``np``,
    ``checks``, ``numpy_ref`` ...): assigning to their attributes patches a library.
    """
    problems: list[Problem] = []
    defined, _ = cell_names(tree)
    library = set(library_names)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for alias in node.names:
                full = module or alias.name
                if full.split(".")[0] in DENIED_MODULES:
                    problems.append(("tampering", f"imports {full}, which an answer may not use"))
                library.add(alias.asname or alias.name.split(".")[0])
    banned = {name for module, qualname in forbidden for name in _static_names(qualname)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in DENIED_CALLS:
                problems.append(("tampering", f"calls {node.func.id}(), which an answer may "
                                              "not use"))
            if node.func.id in ("setattr", "delattr") and node.args and \
                    _root_name(node.args[0]) in library:
                problems.append(("tampering", f"changes the library object "
                                              f"{_root_name(node.args[0])} with {node.func.id}()"))
        elif isinstance(node, ast.Attribute):
            if node.attr in DENIED_ATTRIBUTES:
                problems.append(("tampering", f"reads .{node.attr}, which an answer may not use"))
            if isinstance(node.ctx, (ast.Store, ast.Del)) and _root_name(node) in library:
                problems.append(("tampering", f"assigns to {ast.unparse(node)}: it patches a "
                                              "library instead of answering"))
            if node.attr in banned and isinstance(node.ctx, ast.Load):
                problems.append(("uses-reference", f"uses {ast.unparse(node)}, the course_lib "
                                                   "code this exercise asks you to write"))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) \
                and _root_name(node) in library:
            problems.append(("tampering", f"assigns to {ast.unparse(node)}: it patches a "
                                          "library instead of answering"))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                node.id in banned and node.id not in defined:
            problems.append(("uses-reference", f"uses {node.id}, the course_lib code this "
                                               "exercise asks you to write"))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in banned:
                    problems.append(("uses-reference", f"imports {alias.name}, the course_lib "
                                                       "code this exercise asks you to write"))
    return list(dict.fromkeys(problems))


def _static_names(qualname: str) -> set[str]:
    """Names that statically reveal a use of ``qualname``: a function's own name, or a
    class's name when the exercise forbids constructing it. Other methods (``forward``)
    are common words, so only the kernel's profiler watches them."""
    parts = qualname.split(".")
    if "<locals>" in parts or "<lambda>" in parts:
        return set()
    if len(parts) == 1:
        return {parts[0]}
    if len(parts) == 2 and parts[1] == "__init__":
        return {parts[0]}
    return set()


class _Canonical(ast.NodeTransformer):
    """Rename every local name and argument to its order of appearance; drop docstrings,
    annotations and type comments, so that a renamed copy looks the same."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self._rename(node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.arg(arg=self._rename(node.arg), annotation=None)


def normalized_body(function: ast.FunctionDef) -> str:
    """A function body with names canonicalized and the docstring dropped."""
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    wrapper = ast.Module(body=[ast.FunctionDef(
        name="f", args=function.args, body=body or [ast.Pass()], decorator_list=[],
        returns=None, type_comment=None)], type_ignores=[])
    canonical = _Canonical().visit(ast.parse(ast.unparse(ast.fix_missing_locations(wrapper))))
    return "\n".join(ast.dump(node, annotate_fields=False) for node in canonical.body[0].body)


def copies(tree: ast.Module, reference_bodies: dict[str, str]) -> list[Problem]:
    """Functions of an answer cell whose normalized body equals a reference's."""
    problems = []
    for name, function in defined_functions(tree).items():
        body = normalized_body(function)
        for reference, reference_body in reference_bodies.items():
            if body == reference_body:
                problems.append(("copies-reference", f"{name} is a copy of {reference}, the "
                                                     "course_lib code this exercise asks you "
                                                     "to write"))
    return problems
