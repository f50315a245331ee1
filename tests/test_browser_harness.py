"""The browser harness itself: it starts, renders a local page, and blocks the network."""

from __future__ import annotations

from pathlib import Path


def test_offline_page_renders_a_file_and_blocks_the_network(offline_page, tmp_path: Path):
    page_file = tmp_path / "page.html"
    page_file.write_text('<h1 id="t">hello</h1><img src="https://example.org/x.png">',
                         encoding="utf-8")
    offline_page.goto(page_file.as_uri())
    assert offline_page.inner_text("#t") == "hello"
    assert offline_page.blocked_requests == ["https://example.org/x.png"]
