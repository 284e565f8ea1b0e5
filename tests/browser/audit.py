"""What the admin browser tests check on every page: axe-core and horizontal overflow.

axe-core comes from the axe-playwright-python package (its bundled axe.min.js),
injected from disk: nothing is fetched, so the audit runs offline.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("CARTBACK_SCREENSHOTS")

# Every browser test module's marks: `pytest -m browser` picks them, and without
# Debian's chromium they are skipped with the command that installs it.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="headless Chromium not installed (apt-get install chromium)"),
]


@cache
def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (rule id, impact, where)."""
    page.add_script_tag(content=_axe_source())
    return page.evaluate("""() => axe.run(document, {resultTypes: ["violations"]}).then(
        r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.map(n => n.target.join(" "))})))""")


def sideways_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def check_page(page: Any) -> None:
    """Usable as it is: no axe violation, nothing sticking out sideways."""
    assert axe_violations(page) == [], page.url
    assert sideways_overflow(page) <= 0, f"{page.url} scrolls sideways"


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
