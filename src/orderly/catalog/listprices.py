"""The port catalog tells a product's list price (WAC) through before it answers.

Pricing owns prices: an order is priced at what pricing quotes its buyer. A product created
(or re-priced) in catalog has pricing know its WAC before the answer, as inventory knows its
stock (`catalog/stock.py`), so an order placed the next instant is priced. `product.created`
and `product.updated` still carry the price, and pricing takes them as the same WAC.
"""

from decimal import Decimal
from typing import Protocol

import httpx
import structlog

from orderly.web.clients import service_client

log = structlog.get_logger(__name__)


class ListPrices(Protocol):
    async def set(self, product_id: str, price: Decimal, *, token: str) -> None:
        """Make `price` the product's WAC from today (idempotent)."""
        ...

    async def close(self) -> None: ...


class HttpListPrices:
    """Pricing as its own service: `PUT /api/v1/prices/{productId}/wac`, as the operator."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = service_client(base_url, timeout)

    async def set(self, product_id: str, price: Decimal, *, token: str) -> None:
        """The product has its price once catalog committed it: if pricing cannot be told
        now, the product's message tells it later."""
        try:
            response = await self._client.put(
                f"/api/v1/prices/{product_id}/wac",
                json={"price": str(price)},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as error:
            log.warning("pricing not told of a list price", error=type(error).__name__)
            return
        if response.status_code != 204:
            log.warning("pricing not told of a list price", status=response.status_code)

    async def close(self) -> None:
        await self._client.aclose()
