"""Which GraphQL queries are product pages whose answers BFF-web keeps (`bff/answers.py`),
and which products a piece of news names."""

import pytest

from orderly.bff.answers import named_products, plan, product_ids
from orderly.config import ConfigError, load_settings
from orderly.inventory.messages import InventoryReceived, InventoryReleased, Units
from orderly.messaging.envelope import new_message

NDCS = {"0002-8215-01": "P-NDC"}


@pytest.mark.parametrize(
    ("query", "variables", "ids"),
    [
        ('{ product(id: "P1") { name } }', None, ["P1"]),
        ("query($id: ID!) { product(id: $id) { name } }", {"id": "P2"}, ["P2"]),
        ("query Page($n: String!) { product(ndc: $n) { name } }", {"n": "0002-8215-01"}, ["P-NDC"]),
        (
            '{ a: product(id: "P1") { name } b: product(id: "P3") { name } __typename }',
            None,
            ["P1", "P3"],
        ),
    ],
)
def test_a_product_page_names_its_products(
    query: str, variables: dict[str, str] | None, ids: list[str]
) -> None:
    asked = plan(query, None)
    assert asked is not None
    assert product_ids(asked, variables, NDCS.get) == ids


@pytest.mark.parametrize(
    "query",
    [
        "mutation { placeOrder(items: []) { id } }",
        '{ product(id: "P1") { name } me { id } }',
        '{ ... on Query { product(id: "P1") { name } } }',
        '{ product(id: "P1") @include(if: true) { name } }',
        "{ product(id: 7) { name } }",
        "{ products { name } }",
        "{ product(",
    ],
)
def test_anything_else_is_not_kept(query: str) -> None:
    assert plan(query, None) is None


def test_a_product_not_named_without_asking_a_context_is_not_kept() -> None:
    by_ndc = plan("query($n: String!) { product(ndc: $n) { name } }", None)
    by_id = plan("query($id: ID!) { product(id: $id) { name } }", None)
    assert by_ndc is not None
    assert by_id is not None
    assert product_ids(by_ndc, {"n": "0777-3105-02"}, NDCS.get) is None  # never looked up
    assert product_ids(by_id, {}, NDCS.get) is None
    assert product_ids(by_id, {"id": 5}, NDCS.get) is None


def test_of_two_operations_the_one_named_is_planned() -> None:
    both = 'query A { product(id: "P1") { name } } query B { me { id } }'
    assert plan(both, "A") is not None
    assert plan(both, "B") is None
    assert plan(both, None) is None


def test_news_names_its_product_and_its_items() -> None:
    received = InventoryReceived(product_id="P1", dc="MAIN", lot="L1", quantity=3, expires_on=None)
    assert named_products(new_message(received, source="inventory")) == ["P1"]
    lines = [Units(product_id="P2", quantity=1), Units(product_id="P3", quantity=2)]
    released = InventoryReleased(reference="O1", reason="cancelled", items=lines)
    assert named_products(new_message(released, source="inventory")) == ["P2", "P3"]
    other = new_message(
        InventoryReleased(reference="O1", reason="cancelled", items=[]), source="inventory"
    )
    assert named_products(other) == []


def test_the_pages_seconds_are_at_most_the_caches() -> None:
    assert load_settings({"ORDERLY_PAGE_CACHE_TTL": "0"}).page_cache_ttl == 0
    for wrong in ("-1", "301"):
        with pytest.raises(ConfigError, match="ORDERLY_PAGE_CACHE_TTL"):
            load_settings({"ORDERLY_PAGE_CACHE_TTL": wrong})
