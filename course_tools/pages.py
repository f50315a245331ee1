"""HTML pages of the lessons (``course build``) whose links work when opened from disk.

A lesson links the glossary as ``../GLOSSARY.md#anchor`` and other lessons as
``NN_topic.ipynb``: right in JupyterLab and on a code-hosting site, but a browser opening
``build/html/NN_topic.html`` would find neither. The pages link ``../GLOSSARY.html#anchor``
and ``NN_topic.html`` instead, and :func:`write_glossary` renders the glossary there.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

__all__ = ["lesson_html", "local_links", "markdown_links_to_pages", "rewrite_links",
           "write_glossary"]

_HREF = re.compile(r'href="([^"#:]+?)(\.md|\.ipynb)(#[^"]*)?"')


def rewrite_links(page: str) -> str:
    """``*.md`` links become ``*.html`` and ``*.ipynb`` links become ``*.html`` (relative
    links only; web links are left alone)."""
    return _HREF.sub(lambda m: f'href="{m.group(1)}.html{m.group(3) or ""}"', page)


def markdown_links_to_pages(source: str) -> str:
    """Markdown links of a lesson rewritten for pages that sit next to ``GLOSSARY.html`` and
    the other lessons' pages (the decks, the website): ``../GLOSSARY.md#x`` becomes
    ``GLOSSARY.html#x`` and ``NN_topic.ipynb`` becomes ``NN_topic.html``."""
    source = re.sub(r"\]\((?:\.\./|\./)?GLOSSARY\.md(#[^)\s]*)?\)",
                    lambda m: f"](GLOSSARY.html{m.group(1) or ''})", source)
    return re.sub(r"\]\((\d\d_[A-Za-z0-9_-]+)\.ipynb(#[^)\s]*)?\)",
                  lambda m: f"]({m.group(1)}.html{m.group(2) or ''})", source)


def lesson_html(nb: nbformat.NotebookNode) -> str:
    """The lesson as one HTML page (nbconvert's lab template) with working relative links."""
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nb)
    return rewrite_links(page)


def write_glossary(glossary: str | Path, out_dir: str | Path) -> Path:
    """Render the glossary (Markdown) to ``out_dir/GLOSSARY.html``, keeping its anchors."""
    import mistune

    text = Path(glossary).read_text(encoding="utf-8")
    body = rewrite_links(mistune.html(text))
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape('Glossary · 术语表')}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}"
            ":target{background:#ffa}</style></head><body>\n" + body + "</body></html>\n")
    path = Path(out_dir) / "GLOSSARY.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def local_links(page: str) -> list[str]:
    """Relative link targets of an HTML page (``href`` values without a scheme)."""
    return [h for h in re.findall(r'href="([^"]+)"', page)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", h) and not h.startswith("#")]
