"""The OpenAPI document: every answer a route can give, its refusals as problem+json."""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from orderly.entrypoints.problems import PROBLEM_JSON
from orderly.web.auth import OperatorOver, any_principal, operator, principal
from orderly.web.refusals import CODES

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable; a problem may carry more members.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "`validation_failed`: each field refused, and why",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}

BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

# What every route of a kind can answer, beside the refusals it declares itself.
_AUTHENTICATION = {
    "authentication_required": "No bearer token, or not one of ours",
    "invalid_token": "The token is expired, revoked or forged",
}
_FULL_SESSION = {
    "mfa_enrolment_required": "The token only reaches MFA enrolment",
    "mfa_required": "An external issuer's token for an account member shows no second factor",
}
_BODY = {
    400: {"malformed_json": "The body is not valid JSON"},
    413: {"payload_too_large": "The body is over the configured limit"},
}
_UNAVAILABLE = {
    "database_unavailable": "The database cannot be reached; nothing was written",
    "dependency_unavailable": "A service this request needs cannot be reached",
}

# Operations a response leads to (OpenAPI links), so clients and the state machine of the
# conformance suite can follow a created resource: (operation, status) -> link -> target.
_LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {}


def _link(source: str, status: str, targets: dict[str, dict[str, str]]) -> None:
    _LINKS[(source, status)] = {
        "".join(part.title() for part in target.split("_")): (target, parameters)
        for target, parameters in targets.items()
    }


_product = {"product_id": "$response.body#/id"}
_link(
    "create_product",
    "201",
    {"get_product": _product, "update_product": _product, "get_position": _product},
)
_order = {"order_id": "$response.body#/order_id"}
for _placing in ("place_order", "check_out"):
    _link(
        _placing,
        "201",
        {
            "get_order": _order,
            "cancel_order": _order,
            "payments_of_order": _order,
            "find_shipments": _order,
        },
    )
_method = {"method_id": "$response.body#/id"}
_link("add_method", "201", {"get_method": _method, "delete_method": _method})
_address = {"user_id": "$request.path.user_id", "address_id": "$response.body#/addressId"}
_link("save_address", "201", {"get_address": _address, "delete_address": _address})
_link("create_contract", "201", {"get_contract": {"contract_id": "$response.body#/id"}})
_lot = {"lot_id": "$response.body#/lot_id"}
_link("receive", "201", {"quarantine": _lot, "release_lot": _lot})
_link("register", "201", {"get_user": {"user_id": "$response.body#/userId"}})


def operation_id(route: APIRoute) -> str:
    """Operations are named after their route functions (`create_product`)."""
    return route.name


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        openapi_version=app.openapi_version,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {"bearer": BEARER}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                operation = document["paths"][route.path_format][method.lower()]
                _declare(operation, route)
                _add_links(operation)
    return document


def _declare(operation: dict[str, Any], route: APIRoute) -> None:
    refusals: dict[int, dict[str, str]] = {}
    for status, response in list(operation["responses"].items()):
        if CODES in response:
            refusals[int(status)] = response[CODES]
            del operation["responses"][status]
    for status, codes in _generic(operation, route).items():
        refusals.setdefault(status, {}).update(codes)
    for status, codes in sorted(refusals.items()):
        operation["responses"][str(status)] = _problem(codes)


def _generic(operation: dict[str, Any], route: APIRoute) -> dict[int, dict[str, str]]:
    """The refusals a route's shape implies: its guard, its body, its parameters, storage."""
    calls = set(_calls(route.dependant))
    refusals: dict[int, dict[str, str]] = {}
    acts_over = any(isinstance(call, OperatorOver) for call in calls)
    authenticated = acts_over or bool(calls & {any_principal, principal, operator})
    if authenticated:
        operation["security"] = [{"bearer": []}]
        refusals[401] = dict(_AUTHENTICATION)
        refusals[403] = {"mfa_required": _FULL_SESSION["mfa_required"]}
    if acts_over or calls & {principal, operator}:
        refusals[403] = dict(_FULL_SESSION)
    if operator in calls:
        refusals[404] = {"not_found": "Operators only: to anyone else it does not exist"}
    if acts_over:
        refusals[403]["operator_only"] = "Operators only: the caller sees it, but may not act"
    if "{" in route.path_format:
        refusals.setdefault(404, {})["not_found"] = "A path segment longer than any id"
    if route.body_field is not None:
        refusals.update({status: dict(codes) for status, codes in _BODY.items()})
    if route.body_field is not None or operation.get("parameters"):
        refusals[422] = {
            "validation_failed": "The request does not fit this description",
            "invalid_character": "NUL or a lone surrogate in the path, query or body",
        }
    if authenticated or any(_is_storage(call) for call in calls):
        refusals[503] = dict(_UNAVAILABLE)
    return refusals


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _is_storage(call: Callable[..., Any]) -> bool:
    return getattr(call, "__qualname__", "").startswith("database.")


def _problem(codes: dict[str, str]) -> dict[str, Any]:
    listed = "; ".join(f"`{code}`: {title}" for code, title in sorted(codes.items()))
    schema = {
        "$ref": "#/components/schemas/Problem",
        "properties": {"code": {"enum": sorted(codes)}},
    }
    return {"description": listed, "content": {PROBLEM_JSON: {"schema": schema}}}


def _add_links(operation: dict[str, Any]) -> None:
    for (source, status), links in _LINKS.items():
        if operation.get("operationId") == source and status in operation["responses"]:
            operation["responses"][status]["links"] = {
                name: {"operationId": target, "parameters": parameters}
                for name, (target, parameters) in links.items()
            }
