"""The web app in a real browser: Debian's Chromium driven by Playwright, against Orderly
serving the app's build at `/` (`make web` builds it; `make browser` installs Chromium)."""

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from orderly.entrypoints.webapp import BUILT

CHROMIUM = "/usr/bin/chromium"
# as root, and on a machine whose network is closed: no sandbox, no GPU, no calls home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for a module's tests. Playwright keeps an event loop running in this thread
    while it is started: it is stopped with the module, before the worker's next module
    (whose async tests run loops of their own) begins."""
    assert Path(CHROMIUM).is_file(), f"no {CHROMIUM}: `make browser` installs Debian's chromium"
    assert (BUILT / "index.html").is_file(), f"no app at {BUILT}: `make web` builds it"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile of its own: its storage, its signed-in user."""
    made = browser.new_context()
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


T = TypeVar("T")


def off_loop(call: Callable[[], T]) -> T:
    """`call` in a thread of its own: Playwright's sync API keeps an event loop running in
    the tests' thread, where no other loop may run."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(call).result()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """The tests' async helpers (the e2e suite's), run to their end beside Playwright."""
    return off_loop(lambda: asyncio.run(coroutine))


def screenshot(page: Page, name: str, tmp: Path) -> Path:
    """The page as it looks, for the README: into docs/screenshots/ when
    ORDERLY_UPDATE_SNAPSHOTS=1, else beside the test's other files."""
    folder = SCREENSHOTS if os.environ.get("ORDERLY_UPDATE_SNAPSHOTS") == "1" else tmp
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
