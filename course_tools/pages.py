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

__all__ = ["glossary_body", "lesson_html", "local_links", "markdown_links_to_pages",
           "rewrite_links", "write_glossary"]

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


def glossary_body(text: str) -> str:
    """The glossary's Markdown as HTML for readers: its title and one line of introduction,
    then the terms (tables rendered); the notes for contributors (how to add a row) left out."""
    import mistune

    lines = text.split("\n")
    first_section = next((i for i, line in enumerate(lines) if line.startswith("## ")),
                         len(lines))
    title = next((line for line in lines[:first_section] if line.startswith("# ")), "")
    intro = ("Every key term the lessons introduce, in English and Chinese. "
             "每个课程关键术语的英文与中文。")
    reader = "\n".join([title, "", intro, "", *lines[first_section:]])
    render = mistune.create_markdown(plugins=["table"], escape=False)
    return rewrite_links(render(reader))


def write_glossary(glossary: str | Path, out_dir: str | Path, *,
                   font_css: str | None = None) -> Path:
    """Render the glossary (Markdown) to ``out_dir/GLOSSARY.html``, keeping its anchors.

    ``font_css``: a style sheet (relative to ``out_dir``) with the bundled CJK font, so the
    中文 column renders on a machine without Chinese fonts (the decks pass theirs)."""
    body = glossary_body(Path(glossary).read_text(encoding="utf-8"))
    font_link = f'<link rel="stylesheet" href="{html.escape(font_css)}">' if font_css else ""
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape('Glossary · 术语表')}</title>{font_link}"
            "<style>body{font-family:Helvetica,Arial,'Noto Sans SC Variable','Noto Sans CJK SC',"
            "sans-serif;max-width:64em;margin:2em auto;padding:0 1em;line-height:1.45;"
            "color:#222}table{border-collapse:collapse;width:100%;margin:0.5em 0 1.5em}"
            "td,th{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;"
            "vertical-align:top}th{border-bottom:2px solid #555}td:first-child{white-space:"
            "nowrap;font-weight:600}h2{margin-top:1.6em;color:#2a76dd}"
            "code{font-family:'DejaVu Sans Mono',Menlo,Consolas,'Noto Sans SC Variable',"
            "monospace;background:#f3f3f3}"
            "tr:has(a:target){background:#fff3b0;outline:3px solid #e0a800}</style></head><body>\n"
            + body + "</body></html>\n")
    path = Path(out_dir) / "GLOSSARY.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def local_links(page: str) -> list[str]:
    """Relative link targets of an HTML page (``href`` values without a scheme)."""
    return [h for h in re.findall(r'href="([^"]+)"', page)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", h) and not h.startswith("#")]
