"""The course's Chinese font: the one place that knows which font draws Chinese in plots.

The course installs Noto Sans SC (SIL Open Font License 1.1) from PyPI as a plain OpenType
file, in the package ``pylopdf-fonts-zh-cn`` (the font of Google's and Adobe's noto-cjk
project, unchanged: its README gives the source revision and hash). :func:`use_cjk_font`
registers it with matplotlib and puts the first installed font with Chinese glyphs first in
the sans-serif list, so bilingual labels render on a machine without system CJK fonts.
Where there is none, :func:`cjk_label` romanises the Chinese of the lessons' labels.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["CJK_FONTS", "FONT_FILE", "FONT_PACKAGE", "PINYIN", "cjk_label", "has_cjk_font",
           "packaged_cjk_font", "quiet_missing_glyphs", "use_cjk_font"]

FONT_PACKAGE = "pylopdf_fonts_zh_cn"      # on PyPI: pylopdf-fonts-zh-cn
FONT_FILE = "NotoSansSC-Regular.otf"
# Fonts with Chinese glyphs, best first: the packaged one, then common system fonts.
CJK_FONTS = ("Noto Sans SC", "Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")
# Romanised stand-ins for the Chinese characters of the date data and the coffee-shop story,
# used as tick labels when no font with Chinese glyphs is installed (matplotlib would draw
# empty boxes and print a "Glyph ... missing" warning for every character).
PINYIN = {"年": "nian", "月": "yue", "日": "ri", "星": "xing", "期": "qi", "〇": "ling",
          "一": "yi", "二": "er", "三": "san", "四": "si", "五": "wu", "六": "liu", "七": "qi",
          "八": "ba", "九": "jiu", "十": "shi"}


def packaged_cjk_font() -> str | None:
    """Path of the Noto Sans SC file installed with the course, or None."""
    spec = importlib.util.find_spec(FONT_PACKAGE)  # found, not imported: we want the file
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / FONT_FILE
    return str(path) if path.is_file() else None


def use_cjk_font(plt=None) -> str | None:
    """Prefer a font with Chinese glyphs (registering the packaged one with matplotlib), so
    bilingual labels render; return its name, or None when there is none."""
    from matplotlib import font_manager

    if plt is None:
        import matplotlib.pyplot as plt
    path = packaged_cjk_font()
    if path and not any(font.fname == path for font in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = [name for name in CJK_FONTS if name in installed]
    if not found:
        return None
    rest = [name for name in plt.rcParams["font.sans-serif"] if name not in found]
    # First: matplotlib does not fall back glyph by glyph through the generic family list.
    plt.rcParams["font.sans-serif"] = found[:1] + rest
    return found[0]


def has_cjk_font() -> bool:
    """True when the font matplotlib draws sans-serif text with (the first installed one of
    ``rcParams["font.sans-serif"]``) has Chinese glyphs (``setup_notebook`` registers and
    selects such a font through :func:`use_cjk_font`)."""
    import matplotlib as mpl
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    by_name: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    first = next((by_name[n] for n in mpl.rcParams["font.sans-serif"] if n in by_name), None)
    if first is None:
        return False
    try:
        return FT2Font(first).get_char_index(ord("年")) != 0
    except (OSError, RuntimeError):  # an unreadable font file says nothing
        return False


def quiet_missing_glyphs() -> None:
    """Silence matplotlib's one-warning-per-character "Glyph ... missing from font" noise.

    The warnings appear when a figure is drawn, after the plotting function returned, so a
    local ``catch_warnings`` cannot catch them; this adds a global filter for that message
    only. The lesson says so where it matters.
    """
    import warnings

    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
    warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")


def cjk_label(text: str) -> str:
    """``text`` as is when a Chinese font is available, else with Chinese characters romanised."""
    if has_cjk_font():
        return text
    quiet_missing_glyphs()
    return "".join(PINYIN.get(ch, ch) if ord(ch) > 0x2E80 else ch for ch in text)
