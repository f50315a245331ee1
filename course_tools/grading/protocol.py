"""The kernel protocol of ``course grade``, both directions, in one place.

The grader and a student's kernel exchange length-prefixed frames over two pipes:

- **requests** (grader -> kernel) are pickled: they come from the trusted side, and carry
  the inputs the checks chose for a learner's function;
- **replies** (kernel -> grader) are never pickled: :func:`encode` writes an ``.npz`` that
  holds a JSON document (numbers, strings, bytes as hex) and plain numeric arrays,
  :func:`decode` loads it with ``allow_pickle=False`` and :func:`rebuild` turns it back into
  values, so nothing a submission returns can run code in the grader. Objects that are not
  data (functions, modules, a model) travel as numbered handles: the grader gets a
  :class:`RemoteObject` whose calls and attributes are forwarded to the kernel, as
  :class:`RemoteFunction` forwards calls of a name the answer defines.

This module is imported by the kernel inside its sandbox: standard library and NumPy only at
import time (torch when a tensor is encoded or rebuilt).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import struct
import sys
from typing import Any, Protocol

__all__ = ["KernelStopped", "read_frame", "write_frame", "frame", "encode", "decode",
           "rebuild", "remote_error", "RemoteFunction", "RemoteObject", "HEADER",
           "MAX_REPLY_BYTES", "MAX_DEPTH"]

MAX_REPLY_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 20
HEADER = struct.Struct("<Q")


class KernelStopped(BaseException):  # noqa: N818 - not an error of the grader's code
    """The kernel died, ran out of time or memory, or was stopped by its sandbox.

    ``kind`` is the status it becomes (``timeout``, ``memory``, ``crash``, ``sandbox``...).
    A ``BaseException``, so that the checks' ``except Exception`` (which turns a learner's
    error into feedback) lets it through to the grader.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


# ---------------------------------------------------------------- frames

def frame(payload: bytes) -> bytes:
    """``payload`` with its length prefix."""
    return HEADER.pack(len(payload)) + payload


def read_frame(fd: int) -> bytes | None:
    """One length-prefixed message from ``fd``; ``None`` at end of file."""
    header = _read_exactly(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_REPLY_BYTES:
        raise ValueError(f"message of {size} bytes is over the limit of {MAX_REPLY_BYTES}")
    return _read_exactly(fd, size)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message to ``fd``."""
    view = memoryview(frame(payload))
    while view:
        view = view[os.write(fd, view):]


# ---------------------------------------------------------------- kernel side: values as data

def encode(value: Any, handles: dict[int, Any] | None = None) -> bytes:
    """``value`` as an ``.npz``: a JSON tree plus arrays. Objects that are not data become
    handles (numbered in ``handles``) the grader can call or read attributes of."""
    import numpy as np

    arrays: list[Any] = []
    tree = _to_tree(value, arrays, handles if handles is not None else {}, depth=0)
    buffer = io.BytesIO()
    named = {f"a{i}": array for i, array in enumerate(arrays)}
    named["json"] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    np.savez(buffer, **named)
    return buffer.getvalue()


def _to_tree(value: Any, arrays: list, handles: dict[int, Any], depth: int) -> Any:
    import numpy as np

    if depth > MAX_DEPTH:
        raise ValueError(f"the result is nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, int, float, str):
        if type(value) is int and abs(value) >= 2 ** 62:
            return {"bigint": str(value)}
        return {"py": value}
    if type(value) is bytes:  # BPE tokens: data, not a handle (hex keeps the JSON text)
        return {"bytes": value.hex()}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = torch.Tensor.detach(value).cpu()
        dtype = str(tensor.dtype)
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()
        arrays.append(np.array(tensor.resolve_conj().resolve_neg().numpy(), order="C"))
        return {"tensor": len(arrays) - 1, "dtype": dtype}
    if torch is not None and isinstance(value, torch.Size):
        return {"tuple": [_to_tree(int(v), arrays, handles, depth + 1) for v in value]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        arrays.append(np.array(value, order="C"))
        return {"array": len(arrays) - 1}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        arrays.append(np.asarray(value))
        return {"scalar": len(arrays) - 1}
    if isinstance(value, (tuple, list)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [_to_tree(v, arrays, handles, depth + 1) for v in value]}
    if isinstance(value, dict) and all(type(k) in (str, int) for k in value):
        return {"dict": [[_to_tree(k, arrays, handles, depth + 1),
                          _to_tree(v, arrays, handles, depth + 1)] for k, v in value.items()]}
    handle = len(handles) + 1
    handles[handle] = value
    return {"handle": handle, "type": type(value).__name__, "callable": callable(value)}


# ---------------------------------------------------------------- grader side

def decode(payload: bytes) -> tuple[Any, dict[str, Any]]:
    """``(tree, arrays)`` of a kernel's reply, loaded without pickle (safe on untrusted
    bytes). Raises whatever NumPy or JSON raise on malformed bytes."""
    import numpy as np

    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        tree = json.loads(npz["json"].tobytes().decode())
        arrays = {name: npz[name] for name in npz.files if name != "json"}
    return tree, arrays


class Channel(Protocol):
    """What the proxies need from a session: forward a call or an attribute read."""

    def call(self, message: dict) -> Any: ...

    def getattr(self, handle: int, name: str) -> Any: ...


def rebuild(tree: Any, arrays: dict[str, Any], channel: Channel | None = None) -> Any:
    """The value a reply's tree and arrays describe (see :func:`encode`); handles become
    :class:`RemoteObject`. Raises :class:`KernelStopped` (``crash``) for a malformed reply."""
    import numpy as np

    def build(node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 5 or not isinstance(node, dict) or len(node) == 0:
            raise ValueError("malformed reply")
        if "py" in node:
            value = node["py"]
            if value is not None and type(value) not in (bool, int, float, str):
                raise ValueError("malformed reply")
            return value
        if "bigint" in node:
            return int(str(node["bigint"]))
        if "bytes" in node:
            return bytes.fromhex(str(node["bytes"]))
        for key in ("array", "scalar", "tensor"):
            if key in node:
                array = arrays[f"a{int(node[key])}"]
                if key == "scalar":
                    return array[()]
                if key == "array":
                    return array
                import torch

                name = str(node.get("dtype", "")).removeprefix("torch.")
                dtype = getattr(torch, name, None) if name.isidentifier() else None
                tensor = torch.from_numpy(np.array(array))
                return tensor.to(dtype) if isinstance(dtype, torch.dtype) else tensor
        if "tuple" in node:
            return tuple(build(item, depth + 1) for item in node["tuple"])
        if "list" in node:
            return [build(item, depth + 1) for item in node["list"]]
        if "dict" in node:
            return {build(key, depth + 1): build(value, depth + 1)
                    for key, value in node["dict"]}
        if "handle" in node:
            return RemoteObject(channel, int(node["handle"]), str(node.get("type", "object")))
        raise ValueError("malformed reply")

    try:
        return build(tree, 0)
    except (ValueError, KeyError, TypeError, IndexError, RecursionError) as error:
        raise KernelStopped("crash", f"the kernel sent a reply the grader cannot read "
                                     f"({error})") from None


def remote_error(error: dict) -> BaseException:
    """The learner's exception, re-created here from its type name and message only."""
    name, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    if error.get("not_implemented"):
        return NotImplementedError(message)
    if error.get("kind") in ("memory", "exit"):
        return KernelStopped(error["kind"], f"{name}: {message}" if message else name)
    known = getattr(builtins, name, None) if name.isidentifier() else None
    if isinstance(known, type) and issubclass(known, Exception):
        try:
            return known(message)
        except Exception:
            pass
    return type(name if name.isidentifier() else "Error", (Exception,), {})(message)


class RemoteFunction:
    """Stands for a name the learner's answer defines; calling it runs it in their kernel."""

    def __init__(self, channel: Channel, name: str) -> None:
        self._channel, self.__name__, self.__qualname__ = channel, name, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.call({"op": "call", "name": self.__name__,
                                   "args": (args, kwargs)})

    def __repr__(self) -> str:
        return f"<your {self.__name__}>"


class RemoteObject:
    """An object (not plain data) a learner's function returned: calls and attributes are
    forwarded to the kernel."""

    def __init__(self, channel: Channel | None, handle: int, type_name: str) -> None:
        self._channel, self._handle, self._type = channel, handle, type_name
        self.__name__ = type_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._channel is None:
            raise KernelStopped("crash", "the kernel is not running")
        return self._channel.call({"op": "call", "handle": self._handle,
                                   "args": (args, kwargs)})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("_channel") is None:
            raise AttributeError(name)
        return self._channel.getattr(self._handle, name)

    def __repr__(self) -> str:
        return f"<your {self._type} object>"
