"""What an answer cell may not do, read from its source (the AST) in the grader's process.

- :func:`answer_problems`: tampering (patching a library, reaching into frames, the import
  system or the checker) and uses of the reference the exercise asks the learner to write;
- :func:`copies`: a function whose body is the reference's, renamed or not.

Module names are matched by their first component (``course_tools``, ``inspect``...) and
references by ``(module, qualname)`` as the grader traced them, so they follow course_lib
wherever a module lives (``course_lib.numpy_ref`` or ``course_lib.attention.numpy_ref``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from course_tools.cells import _root_name, cell_names
from course_tools.grading.status import Status

__all__ = ["answer_problems", "copies", "normalized_body", "defined_functions", "Problem",
           "DENIED_MODULES", "DENIED_CALLS", "DENIED_ATTRIBUTES"]

Problem = tuple[Status, str]  # (status, message)

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
    tamper, uses = Status.TAMPERING, Status.USES_REFERENCE
    defined, _ = cell_names(tree)
    library = set(library_names)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for alias in node.names:
                full = module or alias.name
                if full.split(".")[0] in DENIED_MODULES:
                    problems.append((tamper, f"imports {full}, which an answer may not use"))
                library.add(alias.asname or alias.name.split(".")[0])
    banned = {name for module, qualname in forbidden for name in _static_names(qualname)}
    asked = "the course_lib code this exercise asks you to write"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in DENIED_CALLS:
                problems.append((tamper, f"calls {node.func.id}(), which an answer may not "
                                         "use"))
            if node.func.id in ("setattr", "delattr") and node.args and \
                    _root_name(node.args[0]) in library:
                problems.append((tamper, f"changes the library object "
                                         f"{_root_name(node.args[0])} with {node.func.id}()"))
        elif isinstance(node, ast.Attribute):
            if node.attr in DENIED_ATTRIBUTES:
                problems.append((tamper, f"reads .{node.attr}, which an answer may not use"))
            if isinstance(node.ctx, (ast.Store, ast.Del)) and _root_name(node) in library:
                problems.append((tamper, f"assigns to {ast.unparse(node)}: it patches a "
                                         "library instead of answering"))
            if node.attr in banned and isinstance(node.ctx, ast.Load):
                problems.append((uses, f"uses {ast.unparse(node)}, {asked}"))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) \
                and _root_name(node) in library:
            problems.append((tamper, f"assigns to {ast.unparse(node)}: it patches a library "
                                     "instead of answering"))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                node.id in banned and node.id not in defined:
            problems.append((uses, f"uses {node.id}, {asked}"))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in banned:
                    problems.append((uses, f"imports {alias.name}, {asked}"))
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
                problems.append((Status.COPIES_REFERENCE,
                                 f"{name} is a copy of {reference}, the course_lib code this "
                                 "exercise asks you to write"))
    return problems
