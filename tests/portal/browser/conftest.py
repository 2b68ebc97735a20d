"""Browser tests: Playwright driving Debian's Chromium against a live server of the portal.

One browser for the whole session; each test gets fresh contexts (cookies, storage) and pages, a
screenshot of every page it opened under ``test-output/screenshots/``, and fails if a page logged a
script error or a Content-Security-Policy violation in its console.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = "apt-get update && apt-get install -y chromium"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: while Playwright's sync API is alive, its event loop counts as running
    in the main thread, so nothing else should run beside it (see ``playwright`` below)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def playwright_browser() -> Iterator[object]:
    """Chromium, once per session. A missing Chromium fails the tests (never skips them)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}; install it with: {INSTALL_HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio event loop in this thread (switching to it on greenlets)
    # from start() to stop(), so Django sees "a running event loop" and refuses every ORM call the
    # tests make here (SynchronousOnlyOperation). Nothing here is async: the tests and the live
    # server's threads use the ORM synchronously, so lifting the guard while the browser lives is safe;
    # the browser tests run last (pytest_collection_modifyitems above) so no other test runs unguarded.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    driver = sync_playwright().start()
    try:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        driver.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _console_error(message: object, problems: list[str]) -> None:
    """Keep a console error (a resource that failed to load included)."""
    if message.type == "error":
        problems.append(f"console: {message.text} ({message.location.get('url', '')})")


def _file_name(test_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")


@pytest.fixture
def open_page(playwright_browser, live_server, request) -> Iterator[Callable[..., object]]:
    """``open_page(user=None)``: a page in a new browser context on the live server, signed in as
    ``user`` (a session made by the test client, its cookie handed to the browser) or not signed in.
    At the end: a screenshot of each page, and no console errors or uncaught script errors on any."""
    opened: list[tuple[object, object, list[str]]] = []

    def open_(user: AbstractBaseUser | None = None) -> object:
        context = playwright_browser.new_context(base_url=live_server.url)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("console", lambda message: _console_error(message, problems))
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        opened.append((context, page, problems))
        return page

    def problems_of(page: object) -> list[str]:
        """The errors ``page`` logged so far (a test that provokes one on purpose clears it)."""
        return next(problems for _, opened_page, problems in opened if opened_page is page)

    def snap(page: object, step: str) -> None:
        """A screenshot of a step on the way (the end of the test is taken anyway)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = f"{_file_name(request.node.name)}-{_file_name(step)}.png"
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

    open_.problems_of = problems_of  # type: ignore[attr-defined]
    open_.snap = snap  # type: ignore[attr-defined]
    yield open_

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found: list[str] = []
    for index, (context, page, problems) in enumerate(opened, start=1):
        suffix = "" if index == 1 else f"-{index}"
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{_file_name(request.node.name)}{suffix}.png"), full_page=True)
        finally:
            context.close()
        found += problems
    assert found == [], "the pages logged errors (CSP violations or script errors):\n" + "\n".join(found)


@pytest.fixture
def page(open_page):
    """A page not signed in."""
    return open_page()


def csrf_headers(page: object) -> dict[str, str]:
    """Headers for a write through ``page.request`` (the context's cookies): Django's CSRF check."""
    token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == settings.CSRF_COOKIE_NAME)
    return {"X-CSRFToken": token, "Referer": page.url}
