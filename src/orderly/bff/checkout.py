"""Seed 002's checkouts through a BFF: the web's with an address and a payment method in the
body, the mobile's with the ids of saved ones. Both answer `{orderId, status, totalAmount}`."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from orderly.bff.port import Contexts, Forwarded, Json, Refused
from orderly.kernel.errors import OrderlyError
from orderly.kernel.principal import Principal
from orderly.ordering.api.placement import MAX_UNITS
from orderly.web.fields import Whole

log = structlog.get_logger(__name__)

# What a checkout's answer carries on from ordering's.
ANSWER_HEADERS = ("location", "idempotent-replayed", "retry-after")


class NotTheCaller(OrderlyError):
    status = 403
    code = "not_the_caller"
    title = "A checkout is placed by its own user"


class CheckoutItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    productId: str = Field(min_length=1, max_length=64)  # noqa: N815
    quantity: Whole = Field(ge=1, le=MAX_UNITS)


class CheckoutOut(BaseModel):
    orderId: str  # noqa: N815
    status: str
    totalAmount: str | None  # noqa: N815


def in_whose_name(caller: Principal, user_id: str) -> dict[str, str]:
    """What the order says of its owner: the body's `userId` is the caller's own, or, for
    an operator, the user it places the order for (ordering checks that user)."""
    if user_id == caller.user_id:
        return {}
    if caller.is_operator:
        return {"on_behalf_of": user_id}
    raise NotTheCaller("userId must be the signed-in user's own id", user_id=caller.user_id)


async def priced_total(
    contexts: Contexts, caller: Principal, lines: Sequence[tuple[str, int]]
) -> Decimal | None:
    """The lines at the caller's own prices (one call to pricing), or None if one has no
    price (ordering then refuses the order with its own reason)."""
    quoted = await contexts.quotes(caller, lines)
    if any(quote.get("price") is None for quote in quoted):
        return None
    return sum(
        (
            Decimal(quote["price"]) * quantity
            for quote, (_, quantity) in zip(quoted, lines, strict=True)
        ),
        Decimal(0),
    )


async def place(
    contexts: Contexts,
    caller: Principal,
    order: Json,
    headers: Mapping[str, str],
    expected: Decimal | None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Create the order with ordering: its status code, `{orderId, status, totalAmount}` and
    the headers to answer with; ordering's refusal is the checkout's."""
    answer = await contexts.send(
        "ordering", caller, Forwarded("POST", "/api/v1/orders", order, headers)
    )
    carried = {k: v for k, v in answer.headers.items() if k.lower() in ANSWER_HEADERS}
    if answer.status >= 400:
        raise Refused(answer.body if isinstance(answer.body, dict) else {}, answer.status)
    placed: Json = answer.body
    total = placed.get("total_amount")
    if expected is not None and total is not None and Decimal(total) != expected:
        # ordering priced it at the price in force when it wrote it: that one is charged
        log.info("a price changed during a checkout", order=placed["order_id"])
    shown = {"orderId": placed["order_id"], "status": placed["status"], "totalAmount": total}
    return answer.status, shown, carried
