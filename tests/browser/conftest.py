"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium; never a
downloaded browser) against the live test server.

Every page fixture watches what the page does and fails the test when it
- asks for anything outside the server's own origin (all assets are vendored),
- breaks the Content-Security-Policy (a violation event), or
- logs a JavaScript error.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls
# from that thread unless told this is intended (the calls are ordinary synchronous ones).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parent.parent / "assets" / "axe-core-4.14.1.min.js"
# Flags as the machine's own probe uses them: without the background-networking ones
# Chromium tries to reach Google's services at start-up, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Watched:
    """A Playwright page plus what it was seen doing."""

    def __init__(self, page, origin: str):
        self.page = page
        self.origin = origin
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def _request(self, request):
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        parts = urlparse(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(url)

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations || []")

    def axe(self, impacts=("serious", "critical"), *, ignore: dict[str, str] | None = None) -> list[dict]:
        """Serious and critical accessibility violations on the current page (axe-core,
        WCAG 2.1 A and AA rules); `impacts=None` for violations of any impact. `ignore` maps
        a rule to a CSS selector of nodes it may not count (a vendored widget's own markup,
        which we cannot change: say why where it is used); the rule still counts every other
        node of the page."""
        # Evaluated through the DevTools protocol, which the page's CSP does not govern; a
        # <script> tag would be (rightly) refused by our own policy.
        self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        result = self.page.evaluate(
            """async ignore => {
              const result = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                resultTypes: ['violations'],
              });
              result.violations.forEach(v => {
                const skip = ignore[v.id];
                if (skip) v.nodes = v.nodes.filter(n => !document.querySelector(n.target[0]).matches(skip));
              });
              return result;
            }""",
            ignore or {},
        )
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
            for v in result["violations"]
            if v["nodes"] and (impacts is None or v["impact"] in impacts)
        ]


@pytest.fixture
def watched(browser, live_server):
    """A fresh browser context on the live server; asserts nothing foreign happened."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = Watched(page, live_server.url)
    yield seen
    try:
        violations = seen.violations() if not page.is_closed() else []
    except Exception:  # noqa: BLE001 - a page mid-navigation cannot be asked; nothing to add
        violations = []
    context.close()
    assert not seen.foreign, f"requests outside the server's origin: {seen.foreign}"
    assert not violations, f"Content-Security-Policy violations: {violations}"
    assert not seen.errors, f"JavaScript errors: {seen.errors}"


@pytest.fixture
def login(watched, live_server):
    """Log the page in as `user` (made with a known password) through the real login form."""

    def _login(user, password="correct horse battery staple", language="en"):
        user.set_password(password)
        user.save()
        page = watched.page
        page.goto(f"/{language}/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return _login
