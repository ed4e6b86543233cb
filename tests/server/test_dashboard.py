"""The dashboard in a real headless Chromium (Debian's ``chromium`` driven by Playwright).

Real requests go through the live gateway first (answers, a fallback from a model whose server
is not running, an error), then the browser signs in with the token, and the test checks that
the page shows them: numbers in the tiles, drawn charts, the decisions table with reasons, and
no console error. The screenshot is kept in ``test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from _procs import TOKEN
from _support import ARTIFACTS, Live

pytestmark = pytest.mark.model

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHARTS = ("c-rate", "c-latency", "c-share", "c-pct")


def _traffic(live: Live) -> None:
    """A few real requests: both APIs, two models, a fallback and a failure."""
    with httpx.Client(base_url=live.url, headers=live.headers(), timeout=60,
                      trust_env=False) as c:
        ask = [{"role": "user", "content": "Explain what a context window is."}]
        for model in ("auto", "auto", "primary", "secondary", "gone"):
            r = c.post("/v1/chat/completions", json={"model": model, "messages": ask,
                                                       "max_tokens": 6})
            assert r.status_code == 200, r.text
        r = c.post("/api/chat", json={"model": "secondary", "messages": ask, "stream": True,
                                      "options": {"num_predict": 6}})
        assert r.status_code == 200
        r = c.post("/v1/chat/completions", json={"model": "auto", "messages": ask,
                                                   "max_tokens": 2000})  # fits no window
        assert r.status_code == 400


def _painted_pixels(page: object, canvas_id: str) -> int:
    script = """(id) => {
        const c = document.getElementById(id);
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
    }"""
    return int(page.evaluate(script, canvas_id))  # type: ignore[attr-defined]


def test_the_dashboard_shows_live_traffic_in_a_real_browser(live: Live) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    _traffic(live)
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(f"{live.url}/dashboard")
            assert page.locator("form input[name=token]").count() == 1  # signed out: a form
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.fill("input[name=token]", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(f"{live.url}/dashboard")
            page.wait_for_function(
                "() => window.docrouteDashboard && window.docrouteDashboard.renders > 0"
                " && document.querySelectorAll('#decisions tr').length >= 7", timeout=20_000)

            requests = int(page.inner_text("#t-requests"))
            assert requests >= 7
            assert float(page.inner_text("#t-rate")) > 0
            assert page.inner_text("#t-p50").endswith(("ms", " s"))
            assert page.inner_text("#t-fallbacks") != "0"
            assert "gone -> secondary" in page.inner_text("#t-fallbacks-sub")
            assert "ContextOverflowError" in page.inner_text("#t-errors-sub")
            legend = page.inner_text("#share-legend")
            assert "primary" in legend and "secondary" in legend
            for chart in CHARTS:
                assert int(page.get_attribute(f"#{chart}", "data-points") or 0) > 0, chart
                assert _painted_pixels(page, chart) > 500, chart
            table = page.inner_text("#decisions")
            assert "fallback" in table and "gone: BackendUnavailable -> secondary: ok" in table
            assert "single: every task goes to" in table  # the decision's reasons
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
