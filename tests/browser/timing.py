"""How quickly a page of the web app becomes usable, read from the browser's own clock
(`performance.now()`, from the navigation's start): the browser tests record it and `make
bench` reports it beside a peer and a limit; nothing asserts it."""

from playwright.sync_api import Page

# the product page is usable once its price is shown and "Add to cart" can be pressed
_PRODUCT_READY = """() => {
  const price = document.querySelector('[data-testid=price]');
  const add = [...document.querySelectorAll('button')].find(b => b.textContent === 'Add to cart');
  return Boolean(price && add && !add.disabled);
}"""
# the sign-in page: the same scripts, no data to fetch
_SIGN_IN_READY = "() => document.activeElement?.getAttribute('name') === 'email'"
# the product page's one GraphQL query, sent from the page with the signed-in user's token
_QUERY_ALONE = """async (id) => {
  const token = JSON.parse(sessionStorage.getItem('orderly.tokens')).token;
  const query = `query($id: ID) { product(id: $id) { id name price(quantity: 1) { amount source }
    availability { atp } } }`;
  const started = performance.now();
  const answer = await fetch('/graphql', {
    method: 'POST',
    headers: {'content-type': 'application/json', authorization: `Bearer ${token}`},
    body: JSON.stringify({query, variables: {id}}),
  });
  await answer.json();
  return performance.now() - started;
}"""


def product_page_ms(page: Page, url: str, product_id: str) -> float:
    """From navigating to the product page to its price shown and "Add to cart" usable."""
    page.goto(f"{url}/product/?id={product_id}")
    page.wait_for_function(_PRODUCT_READY, polling=5)
    return float(page.evaluate("performance.now()"))


def sign_in_page_ms(page: Page, url: str) -> float:
    """From navigating to the sign-in page to its e-mail field focused (the app's scripts
    loaded and run, no data asked for)."""
    page.goto(f"{url}/signin/")
    page.wait_for_function(_SIGN_IN_READY, polling=5)
    return float(page.evaluate("performance.now()"))


def product_query_ms(page: Page, product_id: str) -> float:
    """The product page's data alone: its GraphQL query's round trip from the page."""
    return float(page.evaluate(_QUERY_ALONE, product_id))
