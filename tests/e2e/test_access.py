"""Access over the whole route table: who may call what, and whose data they can reach.

Both tests walk the routes the server itself publishes in its OpenAPI document, so a new
route is checked the day it appears: one that needs no token must be listed in OPEN, and one
that takes an id must say which resource it reaches in RESOURCE_PARAMS.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
)

from orderly.bff.graph_api import SCHEMA
from tests.e2e.server import Server, embedded, stocked
from tests.e2e.test_seed001_flow import ADDRESS
from tests.services import unique
from tests.waiting import eventually

OPEN = {
    ("GET", "/health"),
    ("GET", "/health/live"),  # what a supervisor and a load balancer ask, with no token
    ("GET", "/health/ready"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/mfa/verify"),
}
# Shared by every account: reading them is allowed to all.
SHARED = {
    ("GET", "/api/v1/products/{product_id}"),
    ("GET", "/api/v1/inventory/{product_id}"),  # ATP only: lots are for operators
}
# The deployment's own services' routes (an external WMS reporting): to anyone without the
# service key they do not exist, token or not.
SERVICE_KEYED = {("POST", "/api/v1/wms/events")}
# The caller's own session, not anybody's resource.
OWN = {("POST", "/api/v1/auth/logout"), ("GET", "/api/v1/auth/session")}
# What a B2B user's token is good for before it has set up its second factor.
ENROLMENT = {
    *OWN,
    ("POST", "/api/v1/auth/mfa/enrol"),
    ("POST", "/api/v1/auth/mfa/activate"),
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/users/{user_id}/addresses"): {
        "line1": "9 Elm St",
        "city": "Shelbyville",
        "postal_code": "54321",
        "country": "US",
    },
    ("POST", "/api/v1/shipments/{shipment_id}/ship"): {"tracking_number": "T1", "carrier": "UPS"},
    ("POST", "/api/v1/shipments/{shipment_id}/deliver"): {"delivery_location": "Porch"},
    ("PUT", "/api/v1/accounts/{account_id}/users/{user_id}/roles"): {"roles": ["account_admin"]},
    ("POST", "/api/v1/inventory/{product_id}/receipts"): {"quantity": 5, "lot": "L1"},
    ("PATCH", "/api/v1/products/{product_id}"): {"name": "Renamed by an intruder"},
    ("PUT", "/api/v1/prices/{product_id}/wac"): {"price": "0.01"},
    ("PUT", "/api/v1/prices/{product_id}/340b"): {"price": "0.01"},
    ("PUT", "/api/v1/prices/accounts/{account_id}/gpo"): {"gpo": "MINE"},
    ("PUT", "/api/v1/inventory/{product_id}/safety-stock/{dc}"): {"units": 1},
    ("PUT", "/api/v1/inventory/shelf-life/{account_id}"): {"days": 1},
    ("PATCH", "/api/v1/inventory/dcs/{dc}"): {"licensed_states": ["PA"]},
    ("PATCH", "/api/v1/accounts/{account_id}/registration"): {"deaActive": False},
    ("PUT", "/api/v1/accounts/{account_id}/csos-certificate"): {"certificate": "not one"},
    ("PUT", "/api/v1/accounts/{account_id}/approval-threshold"): {"amount": "1.00"},
    ("PUT", "/api/v1/cart/items/{product_id}"): {"quantity": 1},
    # an order for another user: operators place those
    ("POST", "/api/v1/orders"): {
        "items": [{"product_id": "any", "quantity": 1}],
        "shipping_address": ADDRESS,
        "on_behalf_of": "another-user",
    },
    ("POST", "/api/v1/accounts/{account_id}/users"): {
        "email": "intruder@example.com",
        "password": "intruder password 1",
        "firstName": "I",
        "lastName": "N",
        "roles": ["account_admin"],
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("access")) as running:
        yield running


def routes(server: Server) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    found = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    return sorted([*found, ("GET", "/metrics")])


def _literal(kind: GraphQLInputType, name: str, ids: dict[str, str]) -> str:
    """A value of `kind` for the argument `name`: the id it names, or a plausible one."""
    if isinstance(kind, GraphQLNonNull):
        return _literal(kind.of_type, name, ids)
    if isinstance(kind, GraphQLList):
        return f"[{_literal(kind.of_type, name, ids)}]"
    if isinstance(kind, GraphQLInputObjectType):
        fields = ", ".join(
            f"{key}: {_literal(field.type, key, ids)}" for key, field in kind.fields.items()
        )
        return "{" + fields + "}"
    if kind.name == "Int":
        return "1"
    return '"' + ids.get(name, "x") + '"'


def _operation(kind: str, name: str, field: GraphQLField, ids: dict[str, str]) -> str:
    args = ", ".join(f"{arg}: {_literal(a.type, arg, ids)}" for arg, a in field.args.items())
    selection = (
        " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""
    )
    return f"{kind} {{ {name}{f'({args})' if args else ''}{selection} }}"


def graphql_operations(ids: dict[str, str]) -> list[tuple[str, str]]:
    """Every query and mutation of `/graphql`, each as one operation, `ids` given to the
    arguments they name (`id`, `productId`)."""
    graph = SCHEMA._schema
    found = []
    for kind, root in (("query", graph.query_type), ("mutation", graph.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            found.append((name, _operation(kind, name, field, ids)))
    return found


def test_every_route_but_the_open_ones_needs_a_token(server: Server) -> None:
    checked = 0
    for method, path in routes(server):
        if (method, path) in OPEN:
            continue
        url = server.url + path.replace("{", "").replace("}", "")
        response = httpx.request(method, url, json={})
        if (method, path) in SERVICE_KEYED:
            assert (response.status_code, response.json()["code"]) == (404, "not_found")
            continue
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.json()["code"] == "authentication_required"
        checked += 1
    assert checked >= 15
    for name, operation in graphql_operations({}):
        response = httpx.post(f"{server.url}/graphql", json={"query": operation})
        assert response.status_code == 401, f"/graphql {name} answered {response.status_code}"
        assert response.json()["code"] == "authentication_required"


async def test_another_account_cannot_reach_a_customers_resources(server: Server) -> None:
    operator = server.client(server.login())
    alice = server.register_customer()
    bob = server.register_customer()
    # given alice has an order with its shipment
    product = await operator.post(
        "/api/v1/products", json={"name": "P", "sku": unique("ACL"), "price": "1.00", "stock": 9}
    )
    await stocked(operator, product.json()["id"], 9)
    method = await server.client(alice["token"]).post(
        "/api/v1/payment-methods", json={"token": "tok_alice_visa", "label": "Visa"}
    )
    assert method.status_code == 201
    order_id = await paid_order(server.client(alice["token"]), product.json()["id"], method)

    async def shipment() -> dict[str, Any] | None:
        found = (await operator.get("/api/v1/shipments", params={"order_id": order_id})).json()
        return found[0] if found else None

    shipment_id = (await eventually(shipment))["id"]
    home = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
    saved = await server.client(alice["token"]).post(
        f"/api/v1/users/{alice['userId']}/addresses", json=home
    )
    assert saved.status_code == 201
    server.create_account("PH-24680", "admin@access.example", "pharmacy counter 24")
    line = {"product_id": product.json()["id"], "quantity": 1}
    cart = await server.client(alice["token"]).post("/api/v1/cart/items", json=line)
    assert cart.status_code == 201
    resources = {
        "account_id": "PH-24680",
        "address_id": saved.json()["addressId"],
        "order_id": order_id,
        "shipment_id": shipment_id,
        "user_id": alice["userId"],
        "product_id": product.json()["id"],
        "dead_letter_id": "any",
        "lot_id": "any",
        "contract_id": "any",
        "saga_id": "any",
        "hold_id": "any",
        "dc": "MAIN",
        "wave_id": "any",
        "task_id": "any",
        "backorder_id": "any",
        "method_id": method.json()["id"],
        "cart_id": cart.json()["cart_id"],
    }
    before = await snapshot(operator, order_id, shipment_id, alice["userId"])
    members = (await operator.get("/api/v1/accounts/PH-24680/users")).json()

    # when bob tries every route on alice's ids, or lists what he can see
    intruder = server.client(bob["token"])
    tried = 0
    for method, path in routes(server):
        if (method, path) in OPEN | OWN:
            continue
        params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        unknown = set(params) - resources.keys()
        assert not unknown, f"{method} {path}: say which resource {unknown} reaches"
        url = path.format(**resources)
        response = await intruder.request(method, url, json=BODIES.get((method, path)))
        if (method, path) in SHARED:
            assert response.status_code == 200
        elif params:
            assert response.status_code in {403, 404}, f"{method} {path}: {response.status_code}"
            if response.status_code == 403:
                # "operators only" about what everyone sees, never about alice's things
                assert response.json()["code"] == "operator_only", f"{method} {path}"
                # (the catalog, and the warehouse's waves and tasks, which no customer owns)
                assert set(params) <= {"product_id", "dc", "wave_id", "task_id"}, (
                    f"{method} {path} told bob 403"
                )
        elif method == "GET" and response.status_code == 200:
            # a list shows bob only his own things
            for secret in (order_id, shipment_id, alice["userId"]):
                assert secret not in response.text, f"{method} {path} shows alice's {secret}"
        tried += 1
    assert tried >= 10
    # nor through GraphQL: every operation given alice's ids
    ids = {"id": order_id, "productId": product.json()["id"]}
    for name, operation in graphql_operations(ids):
        response = await intruder.post("/graphql", json={"query": operation})
        assert response.status_code == 200, f"/graphql {name}: {response.text}"
        for secret in (shipment_id, alice["userId"], saved.json()["addressId"]):
            assert secret not in response.text, f"/graphql {name} shows alice's {secret}"
        if name in {"order", "cancelOrder"}:
            assert response.json()["errors"][0]["extensions"]["code"] == "order_not_found", name

    # then nothing of alice's changed
    assert await snapshot(operator, order_id, shipment_id, alice["userId"]) == before
    assert (await operator.get("/api/v1/accounts/PH-24680/users")).json() == members
    mine = server.client(alice["token"])
    assert (await mine.get(f"/api/v1/payment-methods/{resources['method_id']}")).status_code == 200
    [payment] = (await mine.get(f"/api/v1/payments/order/{order_id}")).json()
    assert payment["status"] == "captured"


async def test_an_operator_action_on_what_the_caller_sees_is_403(server: Server) -> None:
    operator = server.client(server.login())
    alice = server.register_customer()
    mine = server.client(alice["token"])
    product = await operator.post(
        "/api/v1/products", json={"name": "P", "sku": unique("OPS"), "price": "1.00", "stock": 9}
    )
    product_id = product.json()["id"]
    await stocked(operator, product_id, 9)
    # given alice's own order with its shipment, a guarded order with its saga, a cart hold
    direct = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
    order_id = await ordered(mine, direct)
    saga_id = await ordered(mine, {**direct, "channel": "guarded", "payment_method": "tok_visa"})

    async def shipment() -> str | None:
        found = (await mine.get("/api/v1/shipments", params={"order_id": order_id})).json()
        return str(found[0]["id"]) if found else None

    cart = await mine.post("/api/v1/cart/items", json={"product_id": product_id, "quantity": 1})
    assert cart.status_code == 201, cart.text
    resources = {
        "shipment_id": await eventually(shipment),
        "saga_id": saga_id,
        "user_id": alice["userId"],
        "product_id": product_id,
        "cart_id": cart.json()["cart_id"],
        "dc": "MAIN",
        "order_id": order_id,
        "wave_id": "any",
        "task_id": "any",
        "backorder_id": "any",
        "account_id": "PH-97531",  # not alice's: to her it does not exist
    }
    server.create_account("PH-97531", "admin@operator-only.example", "pharmacy counter 24")
    before = await snapshot(operator, order_id, resources["shipment_id"], alice["userId"])
    spec = (await mine.get("/openapi.json")).json()
    actions = [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "operator_only"
        in operation["responses"]
        .get("403", {})
        .get("content", {})
        .get("application/problem+json", {})
        .get("schema", {})
        .get("properties", {})
        .get("code", {})
        .get("enum", [])
    ]
    assert ("POST", "/api/v1/shipments/{shipment_id}/ship") in actions
    assert len(actions) >= 10

    # when alice calls each on her own things
    for method, path in actions:
        response = await mine.request(
            method, path.format(**resources), json=BODIES.get((method, path), {})
        )
        # then she is told operators only, or, for an account not hers, that there is none
        expected = (404, "not_found") if "{account_id}" in path else (403, "operator_only")
        answered = (response.status_code, response.json()["code"])
        assert answered == expected, f"{method} {path}: {response.text}"
    assert await snapshot(operator, order_id, resources["shipment_id"], alice["userId"]) == before
    assert (await mine.get("/api/v1/cart")).json()["items"][0]["held"] == 1


async def ordered(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    async def placed() -> str | None:
        order = await client.post("/api/v1/orders", json=body)
        if order.status_code == 422 and order.json()["code"] == "unknown_product":
            return None  # ordering has not heard of the product yet
        assert order.status_code == 201, order.text
        return str(order.json()["order_id"])

    return await eventually(placed)


def test_an_enrolment_only_token_reaches_nothing_but_mfa_setup(server: Server) -> None:
    server.create_account("PH-13579", "admin@enrolment.example", "pharmacy counter 24")
    answer = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": "admin@enrolment.example", "password": "pharmacy counter 24"},
    ).json()
    assert answer["mfaEnrolmentRequired"] is True
    headers = {"Authorization": f"Bearer {answer['token']}"}
    checked = 0
    for method, path in routes(server):
        if (method, path) in OPEN | ENROLMENT | SERVICE_KEYED:
            continue
        url = server.url + path.replace("{", "").replace("}", "")
        response = httpx.request(method, url, json={}, headers=headers)
        assert response.status_code == 403, f"{method} {path} answered {response.status_code}"
        assert response.json()["code"] == "mfa_enrolment_required"
        checked += 1
    assert checked >= 15
    for name, operation in graphql_operations({}):
        response = httpx.post(f"{server.url}/graphql", json={"query": operation}, headers=headers)
        assert response.status_code == 403, f"/graphql {name} answered {response.status_code}"
        assert response.json()["code"] == "mfa_enrolment_required"
    session = httpx.get(f"{server.url}/api/v1/auth/session", headers=headers)
    assert session.status_code == 200


async def paid_order(alice: httpx.AsyncClient, product_id: str, method: httpx.Response) -> str:
    """A b2c order alice paid with her saved method, once it is `processing`."""

    async def placed() -> str | None:
        order = await alice.post(
            "/api/v1/orders",
            json={
                "items": [{"product_id": product_id, "quantity": 1}],
                "shipping_address": ADDRESS,
                "payment_method": method.json()["id"],
                "channel": "b2c",
            },
        )
        if order.status_code == 422 and order.json()["code"] == "unknown_product":
            return None  # ordering has not heard of the product yet
        assert order.status_code == 201, order.text
        return str(order.json()["order_id"])

    order_id = await eventually(placed)

    async def processing() -> bool:
        return bool(
            (await alice.get(f"/api/v1/orders/{order_id}")).json()["status"] == "processing"
        )

    await eventually(processing)
    return order_id


async def snapshot(
    operator: httpx.AsyncClient, order_id: str, shipment_id: str, user_id: str
) -> Any:
    return (
        (await operator.get(f"/api/v1/orders/{order_id}")).json(),
        (await operator.get(f"/api/v1/shipments/{shipment_id}")).json(),
        (await operator.get(f"/api/v1/users/{user_id}")).json(),
        (await operator.get(f"/api/v1/users/{user_id}/addresses")).json(),
    )
