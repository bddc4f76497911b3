"""The port ordering prices an order and a cart through: the buyer's own price from pricing.

Every channel charges what `GET /api/v1/prices` quotes the caller (340B, then contract, then
WAC), asked as the order is placed: of pricing's store in one process, or between services
`POST /api/v1/prices/quotes` with the caller's token. The figures travel on `order.created`,
and pricing locks them for the order (`price.locked`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import httpx

from orderly.kernel.errors import Unavailable
from orderly.kernel.money import to_cents
from orderly.kernel.principal import Principal
from orderly.web.clients import REPEATABLE, service_client


@dataclass(frozen=True)
class LinePrice:
    """One line's unit price and where it comes from."""

    cents: int
    source: str
    contract_id: str | None
    effective_date: str

    @classmethod
    def of(cls, quote: dict[str, Any] | None) -> "LinePrice | None":
        if quote is None or quote.get("price") is None:
            return None
        return cls(
            cents=to_cents(Decimal(quote["price"])),
            source=str(quote["source"]),
            contract_id=quote.get("contract_id"),
            effective_date=date.fromisoformat(quote["effective_date"]).isoformat(),
        )


class PriceBook(Protocol):
    async def quote(
        self, caller: Principal, requested: Sequence[tuple[str, int]]
    ) -> list[LinePrice | None]:
        """Each `(product, quantity)`'s unit price for the caller today; None where the
        product has no price."""
        ...

    async def close(self) -> None: ...


class HttpPrices:
    """Pricing as its own service: `POST /api/v1/prices/quotes` in the caller's name."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = service_client(base_url, timeout)

    async def quote(
        self, caller: Principal, requested: Sequence[tuple[str, int]]
    ) -> list[LinePrice | None]:
        body: dict[str, Any] = {"items": [{"product_id": p, "quantity": q} for p, q in requested]}
        if caller.account:
            # the account is the token's, unless an operator orders for a member: then it is
            # the member's, which pricing takes from an operator only
            body["account"] = caller.account
        try:
            response = await self._client.post(
                "/api/v1/prices/quotes",
                json=body,
                headers={"Authorization": f"Bearer {caller.token}"},
                extensions=REPEATABLE,
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"pricing is unreachable ({type(error).__name__})") from None
        if response.status_code != 200:
            raise Unavailable(f"pricing answered {response.status_code}")
        return [LinePrice.of(item) for item in response.json()["items"]]

    async def close(self) -> None:
        await self._client.aclose()
