"""Every public function, class and method of course_lib has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import course_lib


def _public_modules() -> list[str]:
    names = [course_lib.__name__]
    for info in pkgutil.walk_packages(course_lib.__path__, prefix=f"{course_lib.__name__}."):
        if info.name != "course_lib.__main__":
            names.append(info.name)
    return sorted(names)


def _has_doc(obj: object) -> bool:
    return bool((getattr(obj, "__doc__", None) or "").strip())


def _missing_docstrings() -> list[str]:
    missing = []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_"):
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != module_name:
                continue  # imported from elsewhere: checked where it is defined
            if not _has_doc(obj):
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if (not attr.startswith("_") and inspect.isfunction(member)
                            and not _has_doc(member)):
                        missing.append(f"{module_name}.{name}.{attr}")
    return missing


def test_walk_finds_the_modules():
    modules = _public_modules()
    assert "course_lib.attention" in modules
    assert "course_lib.__main__" not in modules


def test_every_public_function_class_and_method_has_a_docstring():
    missing = _missing_docstrings()
    assert not missing, "missing docstrings:\n  " + "\n  ".join(missing)
