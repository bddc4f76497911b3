"""`/graphql`'s limits on a toy schema: what is refused, with which code, and that nothing ran."""

from typing import Any

import httpx
import pytest
import strawberry
from fastapi import FastAPI
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.fastapi import GraphQLRouter
from strawberry.types import Info

from orderly.bff.graphql_limits import QueryLimits, extensions, refuse_batches
from orderly.entrypoints.problems import install


def _resolved(info: Info[dict[str, Any], None], field: str) -> None:
    info.context["resolved"].append(field)


@strawberry.type
class Product:
    name: str

    @strawberry.field
    def related(self, info: Info[dict[str, Any], None], limit: int = 10) -> list["Product"]:
        _resolved(info, "related")
        return [Product(name=f"{self.name}-{i}") for i in range(min(limit, 2))]


@strawberry.type
class Line:
    quantity: int

    @strawberry.field
    def product(self, info: Info[dict[str, Any], None]) -> Product:
        _resolved(info, "product")
        return Product(name="ibuprofen")


@strawberry.type
class Order:
    id: strawberry.ID

    @strawberry.field
    def lines(self, info: Info[dict[str, Any], None], limit: int = 10) -> list[Line]:
        _resolved(info, "lines")
        return [Line(quantity=i + 1) for i in range(min(limit, 3))]


@strawberry.type
class Query:
    @strawberry.field
    def orders(self, info: Info[dict[str, Any], None], limit: int = 10) -> list[Order]:
        _resolved(info, "orders")
        return [Order(id=strawberry.ID(f"o-{i}")) for i in range(min(limit, 3))]

    @strawberry.field
    def products(self, info: Info[dict[str, Any], None], first: int = 10) -> list[Product]:
        _resolved(info, "products")
        return [Product(name=f"p-{i}") for i in range(min(first, 3))]


def toy_schema(limits: QueryLimits) -> strawberry.Schema:
    return strawberry.Schema(Query, extensions=extensions(limits))


async def run(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> tuple[strawberry.types.ExecutionResult, list[str]]:
    resolved: list[str] = []
    result = await schema.execute(
        query, variable_values=variables, context_value={"resolved": resolved}
    )
    return result, resolved


# orders 1 + 2 x (id 1 + lines 1 + 2 x (quantity 1 + product 1 + name 1)) = 17
WITHIN_LIMITS = "{ orders(limit: 2) { id lines(limit: 2) { quantity product { name } } } }"


async def test_a_query_within_every_limit_runs() -> None:
    result, resolved = await run(toy_schema(QueryLimits()), WITHIN_LIMITS)

    assert result.errors is None
    assert result.data is not None
    assert len(result.data["orders"]) == 2
    assert result.data["orders"][0]["lines"][1] == {"quantity": 2, "product": {"name": "ibuprofen"}}
    assert resolved.count("orders") == 1


async def test_a_query_costing_exactly_the_limit_runs_and_one_more_is_refused() -> None:
    at_limit, _ = await run(toy_schema(QueryLimits(max_cost=17)), WITHIN_LIMITS)
    over, resolved = await run(toy_schema(QueryLimits(max_cost=16)), WITHIN_LIMITS)

    assert at_limit.errors is None
    assert over.errors is not None
    assert [e.message for e in over.errors] == ["the query costs 17; at most 16"]
    assert resolved == []


def _nested(levels: int) -> str:
    return "{ orders { lines { product { " + "related { " * levels + "name" + " }" * (levels + 4)


REFUSED = [
    pytest.param(
        _nested(12), None, "query_too_deep", "the query is deeper than 10; at most 10", id="deep"
    ),
    pytest.param(
        "{ " + " ".join(f"a{i}: orders {{ id }}" for i in range(16)) + " }",
        None,
        "too_many_aliases",
        "the query has over 15 aliases; at most 15",
        id="aliases",
    ),
    pytest.param(
        "{ orders(limit: 100) { lines(limit: 100) { quantity } } }",
        None,
        "query_too_costly",
        "the query costs 10101; at most 1000",
        id="costly-literals",
    ),
    pytest.param(
        "query($n: Int!) { orders(limit: $n) { lines(limit: $n) { quantity } } }",
        {"n": 1},
        "query_too_costly",
        "the query costs 10101; at most 1000",
        id="costly-variables-count-as-the-largest-page",
    ),
    pytest.param(
        "{ products(first: 50) { related(limit: 20) { name } } }",
        None,
        "query_too_costly",
        "the query costs 1051; at most 1000",
        id="costly-first",
    ),
    pytest.param(
        "{ orders(limit: 100) { ...lines } }"
        " fragment lines on Order { lines(limit: 100) { quantity } }",
        None,
        "query_too_costly",
        "the query costs 10101; at most 1000",
        id="costly-through-a-fragment",
    ),
    pytest.param(
        "{ ...f0 } "
        + " ".join(f"fragment f{i} on Query {{ ...f{i + 1} ...f{i + 1} }}" for i in range(30))
        + " fragment f30 on Query { orders(limit: 0) { id } }",
        None,
        "query_too_costly",
        f"the query costs {2**31}; at most 1000",
        id="costly-fragments-spread-twice-over",
    ),
    pytest.param(
        "{ orders { " + "id " * 2000 + "} }",
        None,
        "query_too_long",
        "the query has more than 2000 tokens; at most 2000",
        id="long",
    ),
    pytest.param(
        "{ __schema { queryType { name } } }",
        None,
        "introspection_disabled",
        "introspection is disabled",
        id="introspection",
    ),
]


@pytest.mark.parametrize(("query", "variables", "code", "message"), REFUSED)
async def test_a_query_past_a_limit_is_refused_with_its_code_and_nothing_runs(
    query: str, variables: dict[str, Any] | None, code: str, message: str
) -> None:
    schema = toy_schema(QueryLimits())

    # twice: the second time, the caches answer what they kept
    for _ in range(2):
        result, resolved = await run(schema, query, variables)

        assert result.data is None
        assert result.errors is not None
        assert [(e.extensions, e.message) for e in result.errors] == [({"code": code}, message)]
        assert resolved == []


async def test_introspection_is_served_when_the_limits_allow_it() -> None:
    result, _ = await run(
        toy_schema(QueryLimits(introspection=True)), "{ __schema { queryType { name } } }"
    )

    assert result.errors is None
    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


def misses_and_hits(cached: Any) -> tuple[int, int]:
    info = cached.cache_info()
    return info.misses, info.hits


async def test_the_same_query_is_parsed_and_validated_once() -> None:
    made = [make() for make in extensions(QueryLimits())]
    parses = next(e for e in made if isinstance(e, ParserCache)).cached_parse_document
    validations = next(e for e in made if isinstance(e, ValidationCache)).cached_validate_document
    schema = toy_schema(QueryLimits())
    query = "{ orders(limit: 1) { id } } # asked three times"
    parsed, validated = misses_and_hits(parses), misses_and_hits(validations)

    for _ in range(3):
        result, _ = await run(schema, query)
        assert result.errors is None

    assert misses_and_hits(parses) == (parsed[0] + 1, parsed[1] + 2)
    assert misses_and_hits(validations) == (validated[0] + 1, validated[1] + 2)


class OrderlyGraphQLRouter(GraphQLRouter[dict[str, Any], None]):
    """As `refuse_batches` tells the router to."""

    def decode_json(self, data: str | bytes) -> object:
        body = super().decode_json(data)
        refuse_batches(body)
        return body


async def post_graphql(body: object, resolved: list[str]) -> httpx.Response:
    async def context() -> dict[str, Any]:
        return {"resolved": resolved}

    app = FastAPI()
    install(app)
    router = OrderlyGraphQLRouter(toy_schema(QueryLimits()), context_getter=context)
    app.include_router(router, prefix="/graphql")
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orderly") as client:
        return await client.post("/graphql", json=body)


async def test_a_batch_of_operations_is_refused_as_a_problem() -> None:
    resolved: list[str] = []

    response = await post_graphql(
        [{"query": WITHIN_LIMITS}, {"query": "{ orders { id } }"}], resolved
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "batch_not_allowed"
    assert resolved == []


async def test_one_operation_through_the_same_router_runs() -> None:
    resolved: list[str] = []

    response = await post_graphql({"query": WITHIN_LIMITS}, resolved)

    assert response.status_code == 200
    assert len(response.json()["data"]["orders"]) == 2
    assert resolved.count("orders") == 1


async def test_a_refusal_reaches_the_client_with_its_code() -> None:
    response = await post_graphql({"query": "{ __schema { queryType { name } } }"}, [])

    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"] == {"code": "introspection_disabled"}
