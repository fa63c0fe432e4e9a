"""The generated status site in real headless Chromium, served over HTTP from 127.0.0.1.

Chromium is Debian's package (``scripts/install-system-deps.sh chromium``), driven by Playwright;
axe-core (bundled by axe-playwright-python) checks accessibility. Without Chromium the tests skip
locally, but under CI (``CI`` set) they fail: the browser is part of the setup there.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from outage_comms.status import write_status_artifacts
from tests.status_site_fixtures import NOW, all_kinds, example_plan

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip(
        "Chromium is not installed (run: bash scripts/install-system-deps.sh chromium); "
        "under CI this test fails instead of skipping",
        allow_module_level=True,
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
    }

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("status-site")
    write_status_artifacts(root, example_plan(), all_kinds(), NOW)
    (root / "app.html").write_text(  # a product page embedding the in-app banner snippet
        '<!doctype html><html lang="en"><head><title>app</title></head><body><p>app</p>'
        '<script src="embed/banner.js" data-locale="en"></script></body></html>',
        encoding="utf-8",
    )
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM is not None, "Chromium is required under CI: bash scripts/install-system-deps.sh chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


PAGES = ["/index.html", "/pt-br/index.html", "/incidents/inc-20261127-1410-abcdef.html", "/history.html"]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_with_no_axe_violations(browser: Any, site_url: str, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = browser.new_page()
    try:
        response = page.goto(site_url + path)
        assert response is not None and response.ok
        assert page.locator("h1").count() == 1
        results = Axe().run(page)
        violations = results.response["violations"]
        assert not violations, [
            (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations
        ]
    finally:
        page.close()


def test_axe_does_find_a_real_violation(browser: Any) -> None:
    """The check above can fail: a page with an unlabeled input and no lang is reported."""
    from axe_playwright_python.sync_playwright import Axe

    page = browser.new_page()
    try:
        page.set_content("<html><body><input type='text'><img src='x.png'></body></html>")
        ids = {v["id"] for v in Axe().run(page).response["violations"]}
        assert {"html-has-lang", "image-alt"} <= ids
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/index.html", "/pt-br/incidents/inc-20261127-1410-abcdef.html"])
def test_xss_payloads_show_as_text_and_never_run(browser: Any, site_url: str, path: str) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(site_url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None, "an injected script or onerror handler ran"
        assert not dialogs
        text = page.locator("main").inner_text()
        assert "<script>window.__xss" in text
        assert "onerror=" in text
        # the one script is the site's own subscribe form enhancement (a file, CSP script-src 'self')
        assert page.locator('main script:not([src$="assets/subscribe.js"]), main img').count() == 0
        assert page.locator("main script:not([src])").count() == 0
    finally:
        page.close()


def test_everything_works_with_javascript_off(browser: Any, site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site_url + "/index.html")
        assert "A major outage is in progress" in page.locator(".ind").inner_text()
        assert page.locator(".inc h3 a").first.is_visible()
        form = page.locator("form.sub")
        assert form.get_attribute("method") == "post"
        assert form.get_attribute("action") == "/api/subscriptions"  # CloudFront: /api/* -> subscribe API
        page.locator(".inc h3 a").first.click()
        page.wait_for_url("**/incidents/inc-20261127-1410-abcdef.html")
        assert "Cause found" in page.locator("main").inner_text()
        page.get_by_role("link", name="Português (Brasil)").click()
        page.wait_for_url("**/pt-br/incidents/inc-20261127-1410-abcdef.html")
        assert page.locator("html").get_attribute("lang") == "pt-BR"
        assert page.locator("link[rel=stylesheet]").count() == 1
        assert page.evaluate("getComputedStyle(document.querySelector('.ind') || document.body).fontFamily")
    finally:
        context.close()


def test_page_is_responsive_on_a_phone(browser: Any, site_url: str) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    try:
        page.goto(site_url + "/index.html")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"horizontal scroll of {overflow}px on a 360px screen"
        assert page.locator("h1").is_visible()
    finally:
        page.close()


def test_page_weight_with_its_style_sheet_is_under_30_kb_gzipped(site_url: str, tmp_path: Path) -> None:
    import urllib.request

    total = 0
    for path in ("/index.html", "/assets/status.css"):
        with urllib.request.urlopen(site_url + path, timeout=10) as response:
            total += len(gzip.compress(response.read()))
    assert total < 30 * 1024, total


def test_the_in_app_banner_shows_the_sent_words_as_text_on_a_phone(browser: Any, site_url: str) -> None:
    """The banner snippet in a product page at 390 px: the approved words (XSS payloads) stay text."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(site_url + "/app.html")
        banner = page.locator("[data-outage-comms-severity]")
        banner.wait_for(timeout=5000)
        assert "<script>window.__xss" in banner.inner_text()
        assert banner.locator("script, img").count() == 0
        assert page.evaluate("window.__xss") is None and not dialogs
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"horizontal scroll of {overflow}px on a 390px screen"
    finally:
        page.close()
