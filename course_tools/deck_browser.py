"""What ``course slides`` asks a headless browser: how tall each block is on a slide, which
slides still overflow, and the PDF handout.

The deck is opened from the file system at its design size (1280x720). Reveal.js shows one
slide at a time, so each question visits every slide in turn. The full measurement
(:data:`SLIDE_REPORT`, every element of every slide) is made once, at the design size:
reveal.js lays a slide out at 1280x720 and scales it to the window. At other window sizes
(a projector's 1024x768, 1920x1080) :data:`VIEW_REPORT` checks what the scaling could
break, cheaply: each slide and its top-level blocks inside the window, plots inside.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MEASURE_BLOCKS", "SLIDE_REPORT", "VIEW_REPORT", "browser_session",
           "loop_running", "measure_blocks", "open_deck", "print_pdf", "slide_report",
           "view_report"]

# Shows a slide and waits for the fonts its text asks for (the CJK font comes in subsets,
# loaded when a character first needs one): measured before, text has fallback metrics.
_SHOW = """  const show = async slide => {
    Reveal.slide(...Object.values(Reveal.getIndices(slide)).slice(0, 2));
    slide.getBoundingClientRect();
    await document.fonts.ready;
  };
"""

# Heights of every block (cell element, by its id) with its images left out: the packer
# adds the images at the size it chooses.
MEASURE_BLOCKS = """async () => {
""" + _SHOW + """  const heights = {};
  const slides = Reveal.getSlides();
  for (const [i, slide] of slides.entries()) {
    await show(slide);
    slide.querySelectorAll(':scope > .jp-Cell').forEach(cell => {
      const id = (cell.id || '').replace(/^cell-id=/, '');
      const scale = Reveal.getScale();
      let height = cell.getBoundingClientRect().height / scale;
      cell.querySelectorAll('.jp-OutputArea img').forEach(img => {
        height -= img.getBoundingClientRect().height / scale;
      });
      heights[id] = height;
    });
  }
  Reveal.slide(0, 0);
  return heights;
}"""

# Per slide (visited in order): how far its content reaches outside the slide on each side
# (slide pixels, 0 when inside), its images (displayed size, natural size, fully visible),
# and the slide number shown and the address.
SLIDE_REPORT = """async () => {
""" + _SHOW + """  const report = [];
  const scale = Reveal.getScale();
  const slides = Reveal.getSlides();
  for (const [i, slide] of slides.entries()) {
    await show(slide);
    const box = slide.getBoundingClientRect();
    let top = box.top, bottom = box.bottom, left = box.left, right = box.right;
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_ELEMENT);
    while (walker.nextNode()) {
      const el = walker.currentNode;
      // notes are not shown; KaTeX's MathML copy is clipped away; an SVG's paths are
      // clipped by the SVG itself (KaTeX draws long square-root signs that way)
      // inside KaTeX's typeset formula, its own struts sit anywhere: its box counts
      if (el.closest('aside.notes, .katex-mathml') || el.ownerSVGElement) continue;
      if (el.parentElement && el.parentElement.closest('.katex-html')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') continue;
      top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom);
      left = Math.min(left, r.left); right = Math.max(right, r.right);
      if (el.classList.contains('katex-html') && el.offsetWidth > 0) {
        // a formula wider than its line: its box stays the line's width, its ink does not
        right = Math.max(right, r.left + el.scrollWidth * r.width / el.offsetWidth);
      }
    }
    const images = [...slide.querySelectorAll('.jp-OutputArea img')].map(img => {
      const r = img.getBoundingClientRect();
      return {width: r.width / scale, height: r.height / scale,
              font_px: parseFloat(img.dataset.fontPx || '0') * (r.width / scale) /
                       parseFloat(img.getAttribute('width') || r.width / scale),
              inside: r.top >= box.top - 1 && r.bottom <= box.bottom + 1 &&
                      r.left >= box.left - 1 && r.right <= box.right + 1,
              loaded: img.complete && img.naturalWidth > 0};
    });
    const heading = slide.querySelector('h1, h2, h3, h4');
    report.push({
      index: i + 1,
      section: slide.dataset.title || '',
      kind: slide.dataset.kind || '',
      title: heading ? heading.textContent.replace('\u00b6', '').replace(/\\s+/g, ' ')
                               .trim().slice(0, 70) : '',
      overflow: {top: (box.top - top) / scale, bottom: (bottom - box.bottom) / scale,
                 left: (box.left - left) / scale, right: (right - box.right) / scale},
      scroll: slide.scrollHeight - slide.clientHeight,
      images: images,
      number: ((document.querySelector('.slide-number') || {}).textContent || '')
                .replace(/\\s+/g, ''),
      hash: '#' + Reveal.getSlidePath(),   // the address reveal.js writes for this slide
      notes: [...slide.querySelectorAll('aside.notes')].map(n => n.textContent.trim()).join(' '),
    });
  }
  Reveal.slide(0, 0);
  return report;
}"""


# Per slide at the page's window size (visited in order; ``only``: a list of 1-based slide
# numbers, or null for all): the slide inside the window, each top-level block (cell) and
# plot inside the slide, plots loaded, the number shown and the address; distances in
# window pixels (0 when inside).
VIEW_REPORT = """async (only) => {
""" + _SHOW + """  const report = [];
  const width = window.innerWidth, height = window.innerHeight;
  const outside = (r, box) => Math.max(0, box.left - r.left, r.right - box.right,
                                       box.top - r.top, r.bottom - box.bottom);
  const view = {left: 0, top: 0, right: width, bottom: height};
  for (const [i, slide] of Reveal.getSlides().entries()) {
    if (only && !only.includes(i + 1)) continue;
    await show(slide);
    const box = slide.getBoundingClientRect();
    const blocks = [...slide.children].filter(el => !el.matches('aside.notes'))
      .map(el => outside(el.getBoundingClientRect(), box));
    const images = [...slide.querySelectorAll('.jp-OutputArea img')];
    report.push({
      index: i + 1,
      window: outside(box, view),
      blocks: Math.max(0, ...blocks, slide.scrollHeight - slide.clientHeight),
      images: Math.max(0, ...images.map(img => outside(img.getBoundingClientRect(), box))),
      loaded: images.every(img => img.complete && img.naturalWidth > 0),
      number: ((document.querySelector('.slide-number') || {}).textContent || '')
                .replace(/\\s+/g, ''),
      hash: '#' + Reveal.getSlidePath(),
    });
  }
  Reveal.slide(0, 0);
  return report;
}"""


def loop_running() -> bool:
    """Whether an asyncio loop runs in this thread, where Playwright's sync API refuses to
    start: a Jupyter kernel, or another ``sync_playwright()`` still open in this thread (a
    test session's browser). :func:`browser_session` must then be entered in another thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextlib.contextmanager
def browser_session() -> Iterator[object]:
    """A headless Chromium for the build (Playwright), or ``None`` where there is none."""
    from course_tools import browser as course_browser

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        yield None
        return
    executable = course_browser.find_chromium()
    if executable is None:
        yield None
        return
    with sync_playwright() as playwright:
        chromium = course_browser.launch(playwright, executable)
        try:
            yield chromium
        finally:
            chromium.close()


def open_deck(browser, path: Path, width: int = 1280, height: int = 720, query: str = ""):
    """A page showing the deck at ``path`` (no transitions), ready; close its context after."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(path.resolve().as_uri() + query)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.evaluate("() => document.fonts.ready.then(() => new Promise(requestAnimationFrame))")
    page.evaluate("() => Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    return page


def measure_blocks(browser, path: Path) -> dict[str, float]:
    """Height (slide pixels, images excluded) of every block of the deck, by cell id."""
    page = open_deck(browser, path)
    try:
        return page.evaluate(MEASURE_BLOCKS)
    finally:
        page.context.close()


def slide_report(page) -> list[dict]:
    """:data:`SLIDE_REPORT` on an open deck page."""
    return page.evaluate(SLIDE_REPORT)


def view_report(page, only: list[int] | None = None) -> list[dict]:
    """:data:`VIEW_REPORT` on an open deck page (at its window's size), for every slide or
    the 1-based slide numbers in ``only``."""
    return page.evaluate(VIEW_REPORT, only)


def print_pdf(browser, path: Path, pdf: Path) -> int:
    """The handout: the deck printed with reveal.js's print view, one 1280x720 page per
    slide. Returns the number of pages."""
    page = open_deck(browser, path, query="?print-pdf")
    try:
        page.wait_for_function("() => document.querySelectorAll('.pdf-page').length > 0")
        page.pdf(path=str(pdf), width="1280px", height="720px", print_background=True,
                 margin={"top": "0", "right": "0", "bottom": "0", "left": "0"})
    finally:
        page.context.close()
    return pdf_pages(pdf)


def pdf_pages(pdf: Path) -> int:
    """Pages of a PDF written by Chromium (counts its page objects)."""
    import re

    data = pdf.read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
