"""Multi-digit addition, written with or without a scratchpad of intermediate steps (lesson 10).

Both formats write the operands and the sum most significant digit first, in a fixed frame of
``width`` digits (zero-padded), so a number with more digits than any training example still
sits at positions the model has seen:

* direct:      ``0367+0485=00852$``
* scratchpad:  ``0367+0485=1100|00852$``: first the carry out of each column, ones
  column first (7+5 carries 1, 6+8+1 carries 1, 3+4+1 carries 0, 0+0 carries 0), then
  the sum.

The carries are the serial part of addition: the digit of a column depends on every column
to its right only through them. Written out, each carry needs only its own column and the
carry before it (the token just written); each sum digit then needs its column and one
carry. Without them, a model of fixed depth must resolve a chain of carries of any length
inside one forward pass (Nye et al. 2021 call such intermediate tokens a scratchpad).

No model code. Token ids come from :data:`ADDITION_VOCAB`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["ADDITION_VOCAB", "PAD", "IGNORE", "encode_chars", "decode_ids", "carries",
           "addition_text", "AdditionSet", "addition_set", "tokens_per_example",
           "sample_operands"]

ADDITION_VOCAB = "0123456789+=|$"
PAD = len(ADDITION_VOCAB)  # an id after the characters; never a target
IGNORE = -100  # cross_entropy's ignore_index: no loss on the question
_ID = {c: i for i, c in enumerate(ADDITION_VOCAB)}


def encode_chars(text: str) -> list[int]:
    """Ids of the characters of ``text`` (digits, ``+``, ``=``, ``|``, ``$``)."""
    try:
        return [_ID[c] for c in text]
    except KeyError as error:
        raise ValueError(f"text: expected only the characters {ADDITION_VOCAB!r}, got "
                         f"{error.args[0]!r}") from None


def decode_ids(ids) -> str:
    """The characters of ``ids`` (the padding id is skipped)."""
    return "".join(ADDITION_VOCAB[int(i)] for i in ids if int(i) != PAD)


def carries(a: int, b: int, width: int) -> list[int]:
    """The carry out of each of ``width`` columns of ``a + b``, ones column first."""
    out, carry = [], 0
    for _ in range(width):
        carry = (a % 10 + b % 10 + carry) // 10
        out.append(carry)
        a, b = a // 10, b // 10
    return out


def addition_text(a: int, b: int, width: int, scratchpad: bool) -> str:
    """The full training text of ``a + b`` in the frame of ``width`` digits."""
    if not (0 <= a < 10 ** width and 0 <= b < 10 ** width):
        raise ValueError(f"a, b: expected numbers of at most {width} digits, got {a}, {b}")
    question = f"{a:0{width}d}+{b:0{width}d}="
    answer = f"{a + b:0{width + 1}d}$"
    if scratchpad:
        return question + "".join(map(str, carries(a, b, width))) + "|" + answer
    return question + answer


def tokens_per_example(width: int, scratchpad: bool) -> int:
    """Length of one example in tokens (all examples of a format have the same length)."""
    return len(addition_text(0, 0, width, scratchpad))


def sample_operands(n: int, digits: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, 2)`` numbers with exactly ``digits`` digits each (1 digit: 0-9)."""
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return torch.randint(low, 10 ** digits, (n, 2), generator=generator)


@dataclass(frozen=True)
class AdditionSet:
    """Examples as ids: ``x, y (N, T)`` for next-token training (``y`` is ``x`` shifted,
    :data:`IGNORE` on the question), ``prompts (N, P)`` (up to and including ``=``),
    ``answers`` (the sums as strings in the frame), and the operands ``(N, 2)``."""

    x: torch.Tensor
    y: torch.Tensor
    prompts: torch.Tensor
    answers: list[str]
    operands: torch.Tensor
    scratchpad: bool
    width: int


def addition_set(n: int, digits: int | tuple[int, int], width: int, scratchpad: bool, *,
                 seed: int = 0) -> AdditionSet:
    """``n`` sums of two numbers whose digit count is ``digits`` (an int, or a range
    ``(lo, hi)`` drawn uniformly per example), written in the chosen format."""
    lo, hi = (digits, digits) if isinstance(digits, int) else digits
    if not 1 <= lo <= hi <= width:
        raise ValueError(f"digits: expected 1 <= digits <= width={width}, got {digits}")
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(lo, hi + 1, (n,), generator=g)
    operands = torch.empty(n, 2, dtype=torch.long)
    for d in range(lo, hi + 1):
        rows = counts == d
        operands[rows] = sample_operands(int(rows.sum()), d, g)
    texts = [addition_text(int(a), int(b), width, scratchpad) for a, b in operands.tolist()]
    ids = torch.tensor([encode_chars(t) for t in texts])
    prompt_len = 2 * width + 2
    x, y = ids[:, :-1], ids[:, 1:].clone()
    y[:, : prompt_len - 1] = IGNORE  # no loss on predicting the question itself
    answers = [f"{int(a) + int(b):0{width + 1}d}" for a, b in operands.tolist()]
    return AdditionSet(x, y, ids[:, :prompt_len], answers, operands, scratchpad, width)
