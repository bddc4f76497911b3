"""The web app in Debian's Chromium: how soon seed 000's product page is usable (its price
shown, "Add to cart" enabled), from the browser's own clock, next to the sign-in page (the
same scripts, no data: the app's own cost) and to the page's GraphQL query alone."""

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from orderly.entrypoints.webapp import BUILT
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.timing import product_page_ms, product_query_ms, sign_in_page_ms
from tests.e2e.server import embedded

WARM_UP = 3


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Figures:
    product_page: Timing
    sign_in_page: Timing
    query_alone: Timing


def _timing(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    return Timing(statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))])


def ready() -> str:
    """Why the figures cannot be taken here, or ""."""
    if not Path(CHROMIUM).is_file():
        return f"no {CHROMIUM} (`make browser`)"
    if not (BUILT / "index.html").is_file():
        return "the app is not built (`make web`)"
    return ""


def measure(loads: int) -> Figures:
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        operator = {"Authorization": f"Bearer {server.login()}"}
        made = httpx.post(
            f"{server.url}/api/v1/products",
            json={"name": "Bench product", "sku": "BENCH-WEB", "price": "12.34", "stock": 100},
            headers=operator,
        )
        made.raise_for_status()
        product_id = made.json()["id"]
        shopper = server.register_customer()
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context().new_page()
            page.goto(f"{server.url}/signin/")
            tokens = {"token": shopper["token"], "refreshToken": ""}
            page.evaluate(
                "t => sessionStorage.setItem('orderly.tokens', JSON.stringify(t))", tokens
            )
            samples: dict[str, list[float]] = {"page": [], "sign_in": [], "query": []}
            for n in range(WARM_UP + loads):  # interleaved: the machine's noise hits all alike
                page_ms = product_page_ms(page, server.url, product_id)
                query_ms = product_query_ms(page, product_id)
                sign_in_ms = sign_in_page_ms(page, server.url)
                if n >= WARM_UP:
                    samples["page"].append(page_ms)
                    samples["query"].append(query_ms)
                    samples["sign_in"].append(sign_in_ms)
            browser.close()
    return Figures(_timing(samples["page"]), _timing(samples["sign_in"]), _timing(samples["query"]))
