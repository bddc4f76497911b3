"""Every route of the OpenAPI document, fed arbitrary text and numbers (NUL, lone surrogates,
integers past 64 bits, negative ones, very long strings) in its path, query and body, as a
customer and as an operator: never a 5xx, and every refusal is a problem+json."""

import json
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import DATABASES
from tests.e2e.server import Server, one_process

# Values that have broken servers: NUL, unpaired surrogates, integers past 64 bits, very long
# or empty text, encodings that look like others, dates at the ends of the calendar.
SPECIAL: list[Any] = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\ud83d\ude00",
    "%00",
    "\\u0000",
    "",
    " ",
    "x" * 10_000,
    "\U0001f48a" * 300,
    "0001-01-01",
    "9999-12-31",
    "1970-01-01T00:00:00Z",
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    -1,
    0,
    1e308,
    float("inf"),
    True,
    None,
    [],
    {},
]
HOSTILE = st.one_of(st.sampled_from(SPECIAL), st.text(), st.integers(), st.floats())
# Put, one at a time, in every parameter and every field of every body: they reached the
# databases and broke them (PostgreSQL refuses NUL, SQLite integers past 64 bits).
SWEPT: list[Any] = ["\x00", "\ud800", 2**64, -(2**63) - 1]
PRINTABLE = st.text(alphabet=string.printable.strip(), max_size=300)
# Logging out would end the session the rest of the run uses.
SKIPPED = {("POST", "/api/v1/auth/logout")}
EXAMPLES = 10


@pytest.fixture(
    scope="module",
    params=DATABASES,
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One process serving every context, on SQLite or on PostgreSQL (no broker needed)."""
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with one_process(tmp, request.param, ORDERLY_CHECKOUT_WAIT="0.5") as running:
        yield running


class Schemas:
    """Hypothesis strategies for the OpenAPI document's JSON schemas: each value of the
    schema's kind or, at any level, something hostile instead (unless `hostile` is off)."""

    def __init__(self, document: dict[str, Any], *, hostile: bool = True) -> None:
        self.components = document.get("components", {}).get("schemas", {})
        self.hostile = hostile

    def value(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        if depth > 4:
            return HOSTILE if self.hostile else st.none()
        shaped = self.shaped(schema, depth)
        # mostly of the schema's kind, so that requests also get past validation
        return st.one_of(shaped, shaped, shaped, HOSTILE) if self.hostile else shaped

    def shaped(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        schema = self.resolved(schema)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return st.one_of([self.shaped(option, depth) for option in schema[key]])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self.object(schema, depth)
        if kind == "array":
            items = self.value(schema.get("items", {}), depth + 1)
            return st.lists(items, min_size=schema.get("minItems", 0), max_size=3)
        if kind == "integer":
            return st.integers(schema.get("minimum"), schema.get("maximum"))
        if kind == "number":
            return st.integers(0, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return self.text(schema)

    def resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {
                name: self.value(sub, depth + 1)
                for name, sub in properties.items()
                if name in required
            },
            optional={
                name: self.value(sub, depth + 1)
                for name, sub in properties.items()
                if name not in required
            },
        )

    def text(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        shape = schema.get("format")
        if shape == "date":
            return st.dates().map(str)
        if shape == "date-time":
            return st.datetimes().map(lambda moment: moment.isoformat())
        if shape == "email":
            return st.emails()
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        low = schema.get("minLength", 0)
        return st.text(min_size=low, max_size=max(low, min(schema.get("maxLength", 40), 40)))


class Operation:
    """One route and method of the document, and how to build a request to it."""

    def __init__(
        self, method: str, path: str, spec: dict[str, Any], components: dict[str, Any]
    ) -> None:
        self.method, self.path, self.components = method, path, components
        parameters = spec.get("parameters", [])
        self.parameters = {
            place: {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == place}
            for place in ("path", "query", "header")
        }
        content = spec.get("requestBody", {}).get("content", {})
        self.body: dict[str, Any] | None = content.get("application/json", {}).get("schema")

    def requests(self, schemas: Schemas) -> st.SearchStrategy[Any]:
        """(url, headers, body) of a request, each part drawn from `schemas`."""
        value = schemas.value
        return st.builds(
            self.request,
            st.fixed_dictionaries({name: value(s) for name, s in self.parameters["path"].items()}),
            st.fixed_dictionaries(
                {}, optional={name: value(s) for name, s in self.parameters["query"].items()}
            ),
            st.fixed_dictionaries({}, optional=dict.fromkeys(self.parameters["header"], PRINTABLE)),
            value(self.body) if self.body is not None else st.just(None),
        )

    def request(
        self, path: dict[str, Any], query: dict[str, Any], headers: dict[str, str], body: Any
    ) -> tuple[str, dict[str, str], Any]:
        url = self.path
        for name in self.parameters["path"]:
            url = url.replace(f"{{{name}}}", quote(as_text(path.get(name, "x")), safe=""))
        pairs = "&".join(
            f"{quote(name)}={quote(as_text(value), safe='')}"
            for name, value in query.items()
            if value is not None
        )
        return (f"{url}?{pairs}" if pairs else url), headers, body

    def swept(self, filler: Any) -> Iterator[tuple[str, dict[str, str], Any]]:
        """Requests with one parameter or one top-level body field set to each SWEPT value,
        the rest of the body a plain one of its schema's kind (`filler`)."""
        for value in SWEPT:
            for name in self.parameters["path"]:
                yield self.request({name: value}, {}, {}, filler)
            for name in self.parameters["query"]:
                yield self.request({}, {name: value}, {}, filler)
            if isinstance(filler, dict):
                for field in self.fields():
                    yield self.request({}, {}, {}, {**filler, field: value})

    def fields(self) -> list[str]:
        schema = self.body or {}
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return list(schema.get("properties", {}))


def operations(document: dict[str, Any]) -> list[Operation]:
    components = document.get("components", {}).get("schemas", {})
    return [
        Operation(method.upper(), path, spec, components)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if (method.upper(), path) not in SKIPPED
    ]


def as_text(value: Any) -> bytes:
    """A value as the bytes of a path segment or query value (a surrogate as UTF-8 would
    carry it, which no decoder takes for text)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


class Caller:
    """Sends one request with a token and checks the answer."""

    def __init__(self, client: httpx.Client, method: str) -> None:
        self.client, self.method = client, method

    def check(self, request: tuple[str, dict[str, str], Any], token: str) -> None:
        url, headers, body = request
        headers = {**headers, "Authorization": f"Bearer {token}"}
        content = None
        if body is not None:
            content = json.dumps(body).encode()  # escapes NUL and surrogates as \uXXXX
            headers["Content-Type"] = "application/json"
        where = f"{self.method} {url[:300]} {str(body)[:300]!r}"
        try:
            response = self.client.request(self.method, url, content=content, headers=headers)
        except httpx.TransportError as error:
            raise AssertionError(f"{where}: {error!r}") from error
        where += f": {response.status_code} {response.text[:300]}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", where


def test_no_route_answers_5xx_to_arbitrary_input(server: Server) -> None:
    tokens = (server.login(), server.register_customer()["token"])
    with httpx.Client(base_url=server.url, timeout=30) as client:
        document = client.get("/openapi.json").json()
        fuzzed, plain = operations(document), Schemas(document, hostile=False)
        assert len(fuzzed) > 50, "the OpenAPI document lost routes"
        for operation in fuzzed:
            caller = Caller(client, operation.method)
            filler = None
            if operation.body is not None:
                filler = find(plain.value(operation.body), lambda _: True)
            for n, request in enumerate(operation.swept(filler)):
                caller.check(request, tokens[n % 2])
            fuzz(caller, operation.requests(Schemas(document)), tokens)


def fuzz(caller: Caller, requests: st.SearchStrategy[Any], tokens: tuple[str, str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # a failure is reported as found: no shrinking against a server
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests, token=st.sampled_from(tokens))
    def never_5xx(request: tuple[str, dict[str, str], Any], token: str) -> None:
        caller.check(request, token)

    never_5xx()
