"""Save a trained model with everything needed to use it again, in one file; load it back.

A checkpoint holds the weights (``state_dict``), the model's config (a dataclass such as
:class:`course_lib.models.gpt.GPTConfig`, stored as a plain dict), the vocabulary (its token list)
and any small extras (step, validation loss...). Everything in it is a tensor, a string, a
number, a list or a dict, so :func:`load_checkpoint` reads it with
``torch.load(weights_only=True)``: loading never runs code from the file (an unrestricted
``torch.load`` unpickles arbitrary objects, which can execute anything).

The model is rebuilt from its class name, which must live in ``course_lib`` (so a
checkpoint cannot make us import an arbitrary module), or you pass a model to fill in.
"""

from __future__ import annotations

import dataclasses
import importlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from course_lib.data.vocab import Vocab

__all__ = [
    "FORMAT", "VERSION", "Checkpoint", "save_checkpoint", "load_checkpoint",
]


FORMAT = "attention-course-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns."""

    model: torch.nn.Module
    config: Any | None
    vocab: Vocab | None
    extra: dict[str, Any] = field(default_factory=dict)


def _qualified_name(obj_type: type) -> str:
    return f"{obj_type.__module__}.{obj_type.__qualname__}"


def save_checkpoint(path: str | Path, model: torch.nn.Module, *, config: Any | None = None,
                    vocab: Vocab | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (+ ``config``, ``vocab``, ``extra``) to ``path``; return the path.

    ``config`` defaults to ``model.config`` when the model has one, and must be a
    dataclass instance. ``extra`` may hold only plain values (numbers, strings, lists,
    dicts, tensors) so the file stays loadable with ``weights_only=True``.
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if config is None:
        config = getattr(model, "config", None)
    if config is not None and not dataclasses.is_dataclass(config):
        raise ValueError(f"config: expected a dataclass instance (e.g. GPTConfig) or None, "
                         f"got {type(config).__name__}")
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model_class": _qualified_name(type(model)),
        "config_class": _qualified_name(type(config)) if config is not None else None,
        "config": dataclasses.asdict(config) if config is not None else None,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "vocab": None if vocab is None else {"itos": list(vocab.itos),
                                              "num_specials": _num_specials(vocab)},
        "extra": dict(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def _num_specials(vocab: Vocab) -> int:
    """How many of the vocabulary's first tokens are specials (``<pad>`` ...)."""
    from course_lib.data.vocab import SPECIALS

    count = 0
    while count < len(vocab.itos) and vocab.itos[count] in SPECIALS:
        count += 1
    return count


def _import_course_class(name: str, what: str) -> type:
    """Import ``course_lib.module.Class`` by name; refuse anything outside course_lib."""
    module_name, _, class_name = name.rpartition(".")
    if not module_name.startswith("course_lib"):
        raise ValueError(f"{what}: only course_lib classes can be rebuilt from a checkpoint, "
                         f"got {name!r}; pass model= to load the weights into your own model")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{what}: cannot import {name!r} ({error})") from error


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"path: no checkpoint at {str(path)!r} (save one with "
                                f"save_checkpoint first)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file
        if isinstance(error, pickle.UnpicklingError) and "weights_only" in str(error):
            raise ValueError(f"path: {str(path)!r} holds objects that weights_only=True "
                             f"refuses to unpickle; it was not written by save_checkpoint"
                             ) from error
        first_line = (str(error).splitlines() or [""])[0]
        raise ValueError(f"path: {str(path)!r} is not a readable checkpoint "
                         f"({type(error).__name__}: {first_line})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"path: {str(path)!r} is not a course checkpoint (expected a dict with "
                         f"format={FORMAT!r}); was it written by save_checkpoint?")
    if payload.get("version") != VERSION:
        raise ValueError(f"path: checkpoint version {payload.get('version')!r} is not supported "
                         f"(expected {VERSION})")
    return payload


def _rebuild_config(payload: dict[str, Any]) -> Any | None:
    if payload["config"] is None:
        return None
    config_class = _import_course_class(payload["config_class"], "config_class")
    try:
        return config_class(**payload["config"])
    except TypeError as error:
        raise ValueError(f"config: the checkpoint's config does not fit "
                         f"{payload['config_class']} ({error})") from error


def _load_weights(model: torch.nn.Module, state_dict: dict[str, torch.Tensor],
                  path: Path) -> None:
    """``load_state_dict`` with one clear message for missing, extra and reshaped tensors."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    reshaped = [f"{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(own[k].shape)}"
                for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or unexpected or reshaped:
        parts = []
        if missing:
            parts.append(f"missing from the checkpoint: {missing[:5]}")
        if unexpected:
            parts.append(f"not in the model: {unexpected[:5]}")
        if reshaped:
            parts.append(f"different shapes: {reshaped[:5]}")
        raise ValueError(f"model: the checkpoint {str(path)!r} does not fit this model ("
                         + "; ".join(parts) + "). Was it saved from a model with another config?")
    model.load_state_dict(state_dict)


def load_checkpoint(path: str | Path, model: torch.nn.Module | None = None, *,
                    map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a file written by :func:`save_checkpoint`.

    With ``model=None`` the model is rebuilt from its class and config (both from
    course_lib); otherwise the weights are loaded into ``model``, which must have the same
    parameter names and shapes. The model is returned in eval mode on ``map_location``.
    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is
    not a checkpoint or does not fit the model.
    """
    path = Path(path)
    payload = _read(path)
    config = _rebuild_config(payload)
    if model is None:
        model_class = _import_course_class(payload["model_class"], "model_class")
        if config is None:
            raise ValueError(f"model: the checkpoint {str(path)!r} has no config, so "
                             f"{payload['model_class']} cannot be rebuilt; pass model=")
        model = model_class(config)
    _load_weights(model, payload["state_dict"], path)
    vocab = None
    if payload["vocab"] is not None:
        itos = payload["vocab"]["itos"]
        cut = payload["vocab"]["num_specials"]
        vocab = Vocab(itos[cut:], specials=itos[:cut])
    model.to(map_location).eval()
    return Checkpoint(model=model, config=config, vocab=vocab, extra=payload["extra"])
