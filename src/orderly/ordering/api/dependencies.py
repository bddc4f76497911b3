"""What ordering's routes are handed per request: its database, the runtime's ports, and a
checkout's bundle of both."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from orderly.kernel.principal import Principal
from orderly.ordering.availability import ProductAvailability
from orderly.ordering.buyers import AccountStanding
from orderly.ordering.policy import OrderingPolicy, policy
from orderly.ordering.prices import PriceBook
from orderly.ordering.products import ProductSource
from orderly.storage import Database
from orderly.web.auth import principal
from orderly.web.dependencies import database, runtime

Ordering = Annotated[Database, Depends(database("ordering"))]


async def availability_port(request: Request) -> ProductAvailability:
    port = (await runtime(request)).availability
    assert port is not None, "ordering's routes are served beside its ports"
    return port


async def price_port(request: Request) -> PriceBook:
    port = (await runtime(request)).prices
    assert port is not None, "ordering's routes are served beside its ports"
    return port


Availability = Annotated[ProductAvailability, Depends(availability_port)]
Prices = Annotated[PriceBook, Depends(price_port)]


# Kept behind its scope (`account:<id>:`, up to 45 characters) in a 255-character column.
MAX_IDEMPOTENCY_KEY = 200
# The header the checkout routes read themselves, documented here for the OpenAPI document.
IDEMPOTENCY_KEY_HEADER = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "The same key and body answer what the first request did; kept 24 h.",
            "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
        }
    ]
}


@dataclass(frozen=True)
class Checkout:
    """What placing an order needs, resolved as one dependency. FastAPI solves every node
    of a route's dependency tree (and reads every declared header) on each request; the
    checkout routes are the busiest, and a node each for the database, the caller, both
    ports and the header cost them more than the order's own work."""

    db: Database
    caller: Principal
    availability: ProductAvailability
    standing: AccountStanding | None
    idempotency_key: str | None
    catalog: ProductSource | None
    prices: PriceBook | None
    policy: OrderingPolicy


async def checkout(request: Request) -> Checkout:
    caller = await principal(request)
    run = await runtime(request)
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "idempotency-key"),
                    "msg": f"String should have at most {MAX_IDEMPOTENCY_KEY} characters",
                    "type": "string_too_long",
                }
            ]
        )
    assert run.availability is not None, "ordering's routes are served beside its ports"
    return Checkout(
        run.databases["ordering"],
        caller,
        run.availability,
        run.standing,
        key,
        run.products,
        run.prices,
        policy(run.settings),
    )


Checkouts = Annotated[Checkout, Depends(checkout)]


async def ordering_policy(request: Request) -> OrderingPolicy:
    return policy((await runtime(request)).settings)


Rules = Annotated[OrderingPolicy, Depends(ordering_policy)]
