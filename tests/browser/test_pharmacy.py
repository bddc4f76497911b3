"""A pharmacy's order in a real browser (seed 000): its buyer signs in with a code from the
authenticator app, finds a schedule II drug, signs the order for CSOS in the browser with
the purchaser's key file, and watches the order through compliance, the ERP and its
confirmation; a first controlled order held by compliance is released by an operator in the
console while the buyer watches; an order above the account's approval threshold says that
it waits."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import off_loop, run, screenshot
from tests.csos import purchaser
from tests.e2e.b2b import Pharmacy, World, atp, b2b_world, pharmacy, product
from tests.e2e.server import OPERATOR_EMAIL, OPERATOR_PASSWORD
from tests.e2e.test_accounts import PASSWORD
from tests.e2e.test_b2b_compliance import with_certificate
from tests.e2e.test_checkout_b2b import _no_first_order_hold, _threshold


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = b2b_world("embedded", tmp_path_factory.mktemp("web-b2b"))
    yield off_loop(made.__enter__)
    off_loop(lambda: made.__exit__(None, None, None))


def signed_in(page: Page, world: World, ph: Pharmacy) -> None:
    """The pharmacy's buyer, signed in with the password and a code from the app."""
    assert ph.app is not None
    page.goto(f"{world.deployed.identity.url}/signin/")
    page.get_by_label("E-mail").fill(ph.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(ph.app.code())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ph.account_id)


def to_cart(page: Page, world: World, product_id: str, quantity: int) -> None:
    page.goto(f"{world.deployed.identity.url}/product/?id={product_id}")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text(f"{quantity} in your cart")
    page.get_by_role("link", name="Go to the cart").click()


def test_a_schedule_ii_order_signed_in_the_browser_is_confirmed_with_its_sales_order(
    world: World, page: Page, tmp_path: Path
) -> None:
    ph = pharmacy(world)
    run(_no_first_order_hold(world, ph))
    signer = purchaser()
    run(with_certificate(world, ph, signer.certificate_pem))
    key_file = tmp_path / "csos-key.pem"
    key_file.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cii = run(product(world, schedule="CII", stock=20))

    signed_in(page, world, ph)
    to_cart(page, world, cii, 2)

    # schedule II: the checkout asks for a CSOS order number and a signature over the lines,
    # made here with the key file; the order ships to the registered address
    checkout = page.get_by_role("form", name="Checkout")
    expect(checkout.get_by_label("Address")).to_contain_text("registered with the DEA")
    checkout.get_by_label("CSOS order number").fill("26X000777")
    expect(checkout.get_by_test_id("csos-payload")).to_have_value(
        f"CSOS1|26X000777|AP5836727|{cii}:2"
    )
    checkout.get_by_label("Sign with your key file").set_input_files(key_file)
    expect(checkout.get_by_label("Signature (base64)")).not_to_have_value("")
    screenshot(page, "csos-checkout", tmp_path)
    checkout.get_by_role("button", name="Place order").click()

    # compliance passes it (the signature verified against the registered certificate), the
    # stock is reserved, the price locked, the ERP books it: CONFIRMED, with its sales order
    expect(page).to_have_url(re.compile(r"/order/\?id="))
    status = page.get_by_role("heading", level=1).locator("[data-status]")
    expect(status).to_have_attribute("data-status", "confirmed", timeout=30_000)
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Sales order\s*\S+"))
    assert run(atp(world, cii)) == 18


def test_a_wrong_signature_fails_the_order_with_the_reason_shown(world: World, page: Page) -> None:
    ph = pharmacy(world)
    run(_no_first_order_hold(world, ph))
    run(with_certificate(world, ph, purchaser().certificate_pem))
    cii = run(product(world, schedule="CII", stock=20))
    signed_in(page, world, ph)
    to_cart(page, world, cii, 1)

    # signed with another key than the registered certificate's: never corrected, refused
    checkout = page.get_by_role("form", name="Checkout")
    checkout.get_by_label("CSOS order number").fill("26X000778")
    stranger = purchaser().sign("26X000778", "AP5836727", [Line(cii, 1)])
    checkout.get_by_label("Signature (base64)").fill(stranger)
    checkout.get_by_role("button", name="Place order").click()
    status = page.get_by_role("heading", level=1).locator("[data-status]")
    expect(status).to_have_attribute("data-status", "failed", timeout=30_000)
    failure = page.get_by_role("main").get_by_role("alert")
    expect(failure).to_have_attribute("data-code", "csos_signature_invalid")
    # nothing was reserved for it: the unit still held is the cart's, until its hold runs out
    # (an operator's replay of the order would take it)
    assert run(atp(world, cii)) == 19


def test_an_order_above_the_approval_threshold_says_it_waits_for_an_approver(
    world: World, page: Page
) -> None:
    ph = pharmacy(world)
    run(_threshold(world, ph, "50.00"))
    item = run(product(world, price="30.00"))
    signed_in(page, world, ph)
    to_cart(page, world, item, 2)
    page.get_by_role("form", name="Checkout").get_by_role("button", name="Place order").click()
    status = page.get_by_role("heading", level=1).locator("[data-status]")
    expect(status).to_have_attribute("data-status", "awaiting_approval", timeout=30_000)
    expect(page.get_by_test_id("waiting")).to_contain_text("waits for an approver")


def test_a_first_controlled_order_held_by_compliance_is_released_by_an_operator_and_goes_on(
    world: World, page: Page, browser_context_of_ops: BrowserContext
) -> None:
    ph = pharmacy(world)
    civ = run(product(world, schedule="CIV", stock=30))
    signed_in(page, world, ph)
    to_cart(page, world, civ, 3)

    # a pharmacy's first order of a controlled family is held for review: its page says so
    page.get_by_role("form", name="Checkout").get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/order/\?id="))
    order_id = page.url.split("id=")[1]
    status = page.get_by_role("heading", level=1).locator("[data-status]")
    expect(status).to_have_attribute("data-status", "on_hold", timeout=30_000)
    expect(page.get_by_test_id("waiting")).to_contain_text("compliance review")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)

    # an operator, in a browser of their own, releases it with a diligence note
    ops = browser_context_of_ops.new_page()
    ops.goto(f"{world.deployed.identity.url}/signin/")
    ops.get_by_label("E-mail").fill(OPERATOR_EMAIL)
    ops.get_by_label("Password").fill(OPERATOR_PASSWORD)
    ops.get_by_role("button", name="Sign in").click()
    expect(ops.get_by_test_id("signed-in-as")).to_have_text(OPERATOR_EMAIL)
    ops.goto(f"{world.deployed.identity.url}/ops/holds/")
    hold = ops.get_by_role("listitem", name=f"Hold of order {order_id[:8]}")
    hold.get_by_label("Diligence note").fill("Called the pharmacy: a new hospice patient.")
    hold.get_by_role("button", name="Release").click()
    expect(hold).to_have_count(0)

    # and the buyer's page, never reloaded, follows the order to its confirmation
    expect(status).to_have_attribute("data-status", "confirmed", timeout=30_000)
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Sales order\s*\S+"))
    assert run(atp(world, civ)) == 27


@pytest.fixture
def browser_context_of_ops(page: Page) -> Iterator[BrowserContext]:
    browser = page.context.browser
    assert browser is not None
    other = browser.new_context()
    other.set_default_timeout(15_000)
    yield other
    other.close()


class Line:
    def __init__(self, product_id: str, quantity: int) -> None:
        self.product_id, self.quantity = product_id, quantity
