"""Toy visual question answering: coloured shapes on a grid, and questions about them.

Each image is a ``grid x grid`` board of ``cell x cell`` cells (default 3 x 3 cells of 4 x 4
pixels: a 12 x 12 RGB image). A few cells hold a shape (square, plus or cross) in a colour
(red, green, blue or yellow); the rest are empty; a little Gaussian noise covers everything.
A question asks about one occupied cell, by its row and column words::

    "what colour is at top left"                 -> "red"
    "what shape is the thing at the bottom centre"  -> "plus"

The answer depends on the image *and* on the words that name the cell, so the question alone
(a text-only model) can do no better than guess the most likely colour or shape for the
question type. Everything is generated from a seed; nothing is downloaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from course_lib.core.validation import check_positive
from course_lib.data.vocab import Vocab

__all__ = ["COLOURS", "SHAPES", "ROWS", "COLUMNS", "ANSWERS", "QUESTION_LENGTH", "VQAData",
           "question_vocab", "make_vqa_data", "shape_pattern"]

COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0),
           "yellow": (1.0, 1.0, 0.0)}
SHAPES = ("square", "plus", "cross")
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
ANSWERS = (*COLOURS, *SHAPES)
_TEMPLATES = ("what {kind} is at {row} {col}",
              "what {kind} is the thing at the {row} {col}")
QUESTION_LENGTH = max(len(t.split()) for t in _TEMPLATES)  # every question is padded to this


def shape_pattern(name: str, size: int) -> torch.Tensor:
    """A ``(size, size)`` 0/1 pattern: a square outline, a thick plus or a diagonal cross."""
    if name not in SHAPES:
        raise ValueError(f"name: expected one of {SHAPES}, got {name!r}")
    if size < 3:
        raise ValueError(f"size: expected at least 3 pixels, got {size}")
    i = torch.arange(size)
    rows, cols = i[:, None], i[None, :]
    if name == "square":
        edge = (rows == 0) | (rows == size - 1) | (cols == 0) | (cols == size - 1)
        return edge.float()
    middle = (size - 1) / 2
    if name == "plus":
        half = 0.5 if size % 2 == 0 else 1.0  # a bar two pixels wide (three when odd)
        return (((rows - middle).abs() <= half) | ((cols - middle).abs() <= half)).float()
    return ((rows == cols) | (rows + cols == size - 1)).float()


def question_vocab() -> Vocab:
    """Word vocabulary of every question (``<pad>`` = 0 and the other specials first)."""
    words: list[str] = []
    for template in _TEMPLATES:
        words += template.replace("{", " {").split()
    words += ["colour", "shape", *ROWS, *COLUMNS]
    return Vocab([w for w in words if not w.startswith("{")])


@dataclass
class VQAData:
    """``images (N, 3, H, W)`` float, ``questions (N, T)`` word ids right-padded with
    ``pad_id``, ``answers (N,)`` ids into :data:`ANSWERS`, ``cells (N,)`` the asked cell
    (``row * grid + col``), plus the raw question and answer strings."""

    images: torch.Tensor
    questions: torch.Tensor
    answers: torch.Tensor
    cells: torch.Tensor
    question_texts: list[str]
    answer_texts: list[str]
    vocab: Vocab

    def __len__(self) -> int:
        return len(self.answers)

    @property
    def pad_id(self) -> int:
        """The padding id of :attr:`questions`."""
        return self.vocab.pad_id


def make_vqa_data(num_examples: int, *, seed: int = 0, grid: int = 3, cell: int = 4,
                  min_objects: int = 2, max_objects: int = 5, noise: float = 0.1) -> VQAData:
    """``num_examples`` seeded (image, question, answer) triples; see the module docstring."""
    check_positive("num_examples", num_examples)
    if grid != len(ROWS):
        raise ValueError(f"grid: expected {len(ROWS)} (the question words name 3 rows and "
                         f"3 columns), got {grid}")
    if not 1 <= min_objects <= max_objects <= grid * grid:
        raise ValueError(f"min_objects, max_objects: expected 1 <= min <= max <= {grid * grid}, "
                         f"got {min_objects}, {max_objects}")
    rng = random.Random(seed)
    size = grid * cell
    images = torch.zeros(num_examples, 3, size, size)
    patterns = {name: shape_pattern(name, cell) for name in SHAPES}
    vocab = question_vocab()
    questions, answers, cells, question_texts, answer_texts = [], [], [], [], []
    for n in range(num_examples):
        occupied = rng.sample(range(grid * grid), rng.randint(min_objects, max_objects))
        content = {}
        for index in occupied:
            colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
            content[index] = (colour, shape)
            r, c = divmod(index, grid)
            pixels = patterns[shape] * torch.tensor(COLOURS[colour])[:, None, None]
            images[n, :, r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = pixels
        asked = rng.choice(occupied)
        kind = rng.choice(("colour", "shape"))
        row, col = divmod(asked, grid)
        text = rng.choice(_TEMPLATES).format(kind=kind, row=ROWS[row], col=COLUMNS[col])
        answer = content[asked][0 if kind == "colour" else 1]
        questions.append(vocab.encode(text.split()))
        answers.append(ANSWERS.index(answer))
        cells.append(asked)
        question_texts.append(text)
        answer_texts.append(answer)
    images += noise * torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    return VQAData(images=images, questions=vocab.pad_batch(questions, QUESTION_LENGTH)[0],
                   answers=torch.tensor(answers), cells=torch.tensor(cells),
                   question_texts=question_texts, answer_texts=answer_texts, vocab=vocab)
