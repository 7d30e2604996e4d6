"""The page's files: shipped with the package, offline, and free of what the CSP would block."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from riskctl.dashboard.app import STATIC_FILES


def read(name: str) -> str:
    return (resources.files("riskctl.dashboard") / "static" / name).read_text(encoding="utf-8")


def test_every_served_file_is_package_data() -> None:
    """Each file the app serves exists inside the installed package."""
    for name in STATIC_FILES:
        assert read(name).strip(), name


def test_page_has_no_inline_script_style_or_handlers() -> None:
    """index.html loads its script and styles from /static only: no inline script or style,
    no event-handler attributes (the CSP would block them)."""
    page = read("index.html")
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/dashboard.js" defer>']
    assert re.search(r"<script\b[^>]*>\s*[^<\s]", page) is None
    assert "<style" not in page
    assert re.search(r"\sstyle\s*=", page) is None
    assert re.search(r"\son[a-z]+\s*=", page) is None
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in page


@pytest.mark.parametrize("name", sorted(STATIC_FILES))
def test_nothing_is_loaded_from_elsewhere(name: str) -> None:
    """No URL to another host (CDN, web font): the page works offline. The SVG namespace is a
    name, not a fetch."""
    urls = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", read(name))
    assert [u for u in urls if u not in ("http://www.w3.org/2000/svg",)] == []
    assert "@import" not in read(name)


def test_script_never_parses_data_as_markup() -> None:
    """The script builds DOM nodes only: no innerHTML, outerHTML, insertAdjacentHTML,
    document.write, eval or Function."""
    lines = read("dashboard.js").splitlines()
    script = "\n".join(line for line in lines if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"on", ".style."):  # fmt: skip
        assert sink not in script, sink
