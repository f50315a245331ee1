"""How a lesson's cells become slides that fit a 1280x720 slide (used by ``course slides``).

The lesson's ``slideshow`` metadata says where a new slide starts; this module makes each of
those slides fit, the way an instructor would shorten a notebook for a talk:

1. :func:`blocks_of` cuts the deck notebook into blocks: a markdown cell into its top-level
   paragraphs, lists, tables and formulas; a code cell into its code (split at statement
   boundaries when longer than a slide) and one block per output. The code of a cell that
   draws a plot is left out (the plot is the point), long printed outputs are trimmed.
2. The browser measures every block's height on the slide (:mod:`course_tools.deck_browser`).
3. :func:`pack` fills slides with blocks in order. A block that does not fit starts a
   continuation slide ("... (cont.)"); a heading never ends a slide; plots take the height
   left on their slide, within the scales at which their text stays readable.

Speaker notes stay with the block they follow; a continuation slide without notes of its
own gets its section's notes again, marked as continued.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import nbformat

__all__ = [
    "CONTENT_HEIGHT", "CONTENT_WIDTH", "MIN_FONT_PX", "Block", "Slide", "blocks_of",
    "code_chunks", "markdown_pieces", "pack", "plot_scale_range",
]

SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
PADDING_X, PADDING_Y = 24, 14                # the slide's inner margin (slides/theme.css)
CONTENT_WIDTH = SLIDE_WIDTH - 2 * PADDING_X
CONTENT_HEIGHT = SLIDE_HEIGHT - 2 * PADDING_Y
CONTINUED_HEIGHT = 92                        # a one-line continuation heading (h3), measured
CODE_LINE_HEIGHT = 28.6                      # 22 px code, line-height 1.3 (slides/theme.css)
CODE_CHARS_PER_LINE = int((CONTENT_WIDTH - 40) / (22 * 0.602))   # DejaVu Sans Mono advance
MIN_FONT_PX = 18.0                           # smallest plot text on the 1280x720 slide
MAX_PLOT_SCALE = 2.0                         # 2x PNGs stay sharp up to twice their 1x size
DEFAULT_FONT_PX = 14 * 100 / 72              # plots without course metadata: 14 pt at 100 dpi


@dataclass
class Block:
    """One piece of a slide: a cell of the deck notebook (a markdown piece, code, or one
    output with its input hidden) and its measured height in slide pixels."""

    cell: nbformat.NotebookNode
    kind: str                                # "heading", "markdown", "code", "output", "plot"
    height: float = 0.0
    plot: tuple[float, float, float] | None = None   # (1x width, 1x height, 1x font px)


@dataclass
class Slide:
    """Blocks shown together, the speaker notes said over them, and the section's title."""

    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    title: str = ""
    continued: bool = False


# ---------------------------------------------------------------------------- blocks

_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)]) ")


def markdown_pieces(source: str) -> list[str]:
    """``source`` cut at blank lines between top-level blocks: never inside a code fence,
    a ``$$`` formula or an HTML block, never before an indented (continuation) line."""
    lines = source.split("\n")
    pieces, current, fence, math = [], [], False, False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fence = not fence
        if not fence and line.strip().count("$$") % 2 == 1:
            math = not math
        blank = not line.strip()
        following = next((x for x in lines[i + 1:] if x.strip()), "")
        cut = (blank and not fence and not math and current and following
               and not following[0].isspace() and not following.startswith("<"))
        # a tight list's next item: a block of its own, so a long list can span slides
        item = (not fence and not math and current and _LIST_ITEM.match(line)
                and _LIST_ITEM.match(current[0]))
        if item:
            pieces.append("\n".join(current).strip("\n"))
            current = [line]
            continue
        if cut:
            pieces.append("\n".join(current).strip("\n"))
            current = []
        elif not (blank and not current):
            current.append(line)
    if current and "\n".join(current).strip():
        pieces.append("\n".join(current).strip("\n"))
    return pieces


def _visual_lines(text: str, per_line: int = CODE_CHARS_PER_LINE) -> int:
    return sum(max(1, -(-len(line) // per_line)) for line in text.split("\n"))


def code_chunks(source: str, max_lines: int) -> list[str]:
    """``source`` in chunks of at most ``max_lines`` screen lines (long lines wrap), cut at
    blank lines or, failing that, before a line that is not indented (a new statement)."""
    lines = source.rstrip("\n").split("\n")
    if _visual_lines(source) <= max_lines:
        return [source]
    chunks, start = [], 0
    while start < len(lines):
        end, used = start, 0
        while end < len(lines) and used + _visual_lines(lines[end]) <= max_lines:
            used += _visual_lines(lines[end])
            end += 1
        if end >= len(lines):
            chunks.append("\n".join(lines[start:]))
            break
        end = max(end, start + 1)
        cut = next((j for j in range(end, start, -1) if not lines[j - 1].strip()), None)
        if cut is None or cut - start < max_lines // 3:
            cut = next((j for j in range(end, start, -1)
                        if lines[j].strip() and not lines[j][0].isspace()
                        and not lines[j].lstrip().startswith((")", "]", "}"))), end)
        chunks.append("\n".join(lines[start:cut]).strip("\n"))
        start = cut
        while start < len(lines) and not lines[start].strip():
            start += 1
    return [c for c in chunks if c.strip()]


def _new_cell(template: nbformat.NotebookNode, suffix: str, **changes) -> nbformat.NotebookNode:
    cell = copy.deepcopy(template)
    cell.id = f"{template.get('id') or 'cell'}-{suffix}"
    cell.update(changes)
    return cell


def _plot_size(output: nbformat.NotebookNode) -> tuple[float, float, float] | None:
    data = output.get("data", {})
    if "image/png" not in data and "image/jpeg" not in data and "image/svg+xml" not in data:
        return None
    meta = next((output.get("metadata", {}).get(k, {}) for k in ("image/png", "image/jpeg")
                 if k in data), {})
    width, height = meta.get("width"), meta.get("height")
    if not (width and height):
        width, height = _image_pixels(data)
    course = meta.get("course", {})
    font_px = (course["font_pt"] * course.get("dpi", 100) / 72 if "font_pt" in course
               else DEFAULT_FONT_PX)
    return float(width), float(height), float(font_px)


def _image_pixels(data: dict) -> tuple[float, float]:
    import base64
    import struct

    if "image/png" in data:
        raw = base64.b64decode(data["image/png"])
        if raw[:8] == b"\x89PNG\r\n\x1a\n":
            return struct.unpack(">II", raw[16:24])
    return 800.0, 500.0


def blocks_of(cells: list[nbformat.NotebookNode], max_code_lines: int) -> list[Block]:
    """The blocks of a slide's cells (see the module's docstring). Output cells keep their
    input hidden through the ``deck-hide-input`` tag (nbconvert's TagRemovePreprocessor)."""
    blocks: list[Block] = []
    for cell in cells:
        if cell.cell_type == "markdown":
            for k, piece in enumerate(markdown_pieces(cell.source)):
                kind = "heading" if re.match(r"^#{1,6} ", piece) and "\n" not in piece \
                    else "markdown"
                blocks.append(Block(_new_cell(cell, f"md{k}", source=piece), kind))
            continue
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        plots = [o for o in outputs if _plot_size(o) is not None]
        if not plots and cell.source.strip():
            for k, chunk in enumerate(code_chunks(cell.source, max_code_lines)):
                blocks.append(Block(_new_cell(cell, f"code{k}", source=chunk, outputs=[]),
                                    "code"))
        for k, output in enumerate(outputs):
            hidden = _new_cell(cell, f"out{k}", outputs=[output])
            hidden.metadata["tags"] = [*hidden.metadata.get("tags", []), "deck-hide-input"]
            size = _plot_size(output)
            blocks.append(Block(hidden, "plot" if size else "output", plot=size))
    return blocks


# ---------------------------------------------------------------------------- packing

def plot_scale_range(plot: tuple[float, float, float]) -> tuple[float, float]:
    """Scales (display size / 1x size) at which a plot is readable and sharp: at least the
    one that draws its smallest text at :data:`MIN_FONT_PX` (unless the width forbids), at
    most :data:`MAX_PLOT_SCALE` and the slide's width."""
    width, _, font_px = plot
    widest = CONTENT_WIDTH / width
    largest = min(MAX_PLOT_SCALE, widest)
    return min(MIN_FONT_PX / font_px, largest), largest


def _height(block: Block, scale: float | None = None) -> float:
    if block.plot is None:
        return block.height
    chrome = block.height   # the output area around the image (measured without it)
    low, _ = plot_scale_range(block.plot)
    return chrome + block.plot[1] * (low if scale is None else scale)


def _parts(slide: Slide, blocks_notes: list[tuple[Block | None, str | None]]) -> list[Slide]:
    """Greedy: fill each part with blocks at their smallest readable size."""
    parts = [Slide(title=slide.title)]
    used = 0.0
    for block, note in blocks_notes:
        if block is None:
            parts[-1].notes.append(note)
            continue
        height = _height(block)
        if parts[-1].blocks and used + height > CONTENT_HEIGHT:
            carried = []
            while parts[-1].blocks and parts[-1].blocks[-1].kind == "heading":
                carried.insert(0, parts[-1].blocks.pop())     # a heading opens its part
            opens = carried[0] if carried else block
            parts.append(Slide(title=slide.title, continued=opens.kind != "heading"))
            parts[-1].blocks = carried
            used = sum(_height(b) for b in carried) + (CONTINUED_HEIGHT
                                                       if parts[-1].continued else 0)
            if not parts[-2].blocks:
                parts.pop(-2)
        parts[-1].blocks.append(block)
        used += height
    return parts


def _size_plots(part: Slide) -> None:
    """Give the plots of a part the height left on it (between their readable and largest
    scales), writing the display size into the output's metadata."""
    plots = [b for b in part.blocks if b.plot is not None]
    if not plots:
        return
    fixed = sum(b.height for b in part.blocks if b.plot is None) + \
        sum(b.height for b in plots) + (CONTINUED_HEIGHT if part.continued else 0)
    natural = sum(b.plot[1] for b in plots)
    fit = (CONTENT_HEIGHT - fixed) / natural if natural else 1.0
    for block in plots:
        _, high = plot_scale_range(block.plot)
        scale = min(fit, high)   # packing left room for the readable scale where it could
        output = block.cell.outputs[0]
        key = next(k for k in ("image/png", "image/jpeg", "image/svg+xml")
                   if k in output.get("data", {}))
        meta = output.setdefault("metadata", {}).setdefault(key, {})
        meta["width"] = round(block.plot[0] * scale)
        meta["height"] = round(block.plot[1] * scale)
        meta.setdefault("course", {})["font_px"] = round(block.plot[2] * scale, 1)


def pack(slide: Slide, sequence: list[tuple[Block | None, str | None]],
         continued_note: str) -> list[Slide]:
    """Split one lesson slide into parts that fit (see the module's docstring).

    ``sequence``: the slide's blocks and notes in notebook order (``(block, None)`` or
    ``(None, note)``); ``continued_note``: the prefix of the notes repeated on a
    continuation slide that has none of its own (``{}`` takes the first note).
    """
    parts = _parts(slide, sequence)
    first_notes = next((p.notes for p in parts if p.notes), [])
    for part in parts:
        if not part.notes and first_notes:
            part.notes = [continued_note.format(first_notes[0])]
        _size_plots(part)
    return parts
