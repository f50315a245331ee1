"""The course's Chinese font (course_lib.notebook.fonts): the packaged file is Noto Sans SC
(tests/test_learner.py draws Chinese with it), and every font the course redistributes has
its licence recorded (THIRD_PARTY.md)."""

from __future__ import annotations

from pathlib import Path

from course_lib.notebook import fonts

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_font_is_noto_sans_sc_under_the_ofl() -> None:
    from fontTools.ttLib import TTFont

    path = fonts.packaged_cjk_font()
    assert path, "pylopdf-fonts-zh-cn (a course dependency) should ship Noto Sans SC"
    names = TTFont(path, lazy=True)["name"]
    assert names.getDebugName(1) == "Noto Sans SC"
    assert "SIL Open Font License" in names.getDebugName(13)
    cmap = TTFont(path, lazy=True).getBestCmap()
    text = "注意力机制：从循环神经网络到 Transformer，年月日"
    assert all(ord(ch) in cmap for ch in text if not ch.isascii() and ch != "："), \
        "the font covers the lessons' Chinese"


def test_every_redistributed_font_and_asset_has_its_licence_recorded() -> None:
    import json

    record = (ROOT / "THIRD_PARTY.md").read_text(encoding="utf-8")
    npm = json.loads((ROOT / "slides" / "package.json").read_text())["dependencies"]
    for name, version in npm.items():
        assert f"{name}@{version}" in record, f"THIRD_PARTY.md should record {name} {version}"
    assert "pylopdf-fonts-zh-cn" in record and "OFL-1.1" in record
    from course_tools import lock

    assert not any(r.startswith("mplfonts") for r in lock._project()["dependencies"])
