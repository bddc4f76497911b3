"""The port catalog tells of a new product before it answers: inventory's record of it.

Seed 002 Flow 2 creates a product's inventory record before the product's 201, so that an
order placed the next instant finds its stock. `product.created` still goes out (pricing and
ordering keep copies; inventory takes it as the same record, made once).
"""

from typing import Protocol

import httpx
import structlog

from orderly.web.clients import service_client

log = structlog.get_logger(__name__)


class StockRecords(Protocol):
    async def open(self, product_id: str, sku: str, initial: int, *, token: str) -> None:
        """Make the product's inventory record with its initial stock (idempotent)."""
        ...

    async def close(self) -> None: ...


class HttpStockRecords:
    """Inventory as its own service: `PUT /api/v1/inventory/{productId}`."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = service_client(base_url, timeout)

    async def open(self, product_id: str, sku: str, initial: int, *, token: str) -> None:
        """The product exists once catalog committed it: if inventory cannot be told now,
        `product.created` tells it later, and the product is created all the same."""
        body = {"sku": sku, "initial_stock": initial}
        try:
            response = await self._client.put(
                f"/api/v1/inventory/{product_id}",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as error:
            log.warning("inventory not told of a new product", error=type(error).__name__)
            return
        if response.status_code != 200:
            log.warning("inventory not told of a new product", status=response.status_code)

    async def close(self) -> None:
        await self._client.aclose()
