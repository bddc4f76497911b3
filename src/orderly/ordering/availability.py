"""The port ordering asks before any order exists: are these products available?"""

from typing import Any, Protocol

import httpx

from orderly.inventory.messages import AvailabilityReport
from orderly.kernel.errors import Unavailable, Unprocessable
from orderly.storage import Database


class UnknownProduct(Unprocessable):
    code = "unknown_product"
    title = "Unknown product"


class ProductAvailability(Protocol):
    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        """Seed 001's report; raises `UnknownProduct` for products that do not exist. With a
        cart, each line also says how many units that cart holds (`held`)."""
        ...

    async def close(self) -> None: ...


class LocalAvailability:
    """Inventory in the same process: ask its read-only query directly."""

    def __init__(self, inventory: Database) -> None:
        self._inventory = inventory

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        from orderly.inventory.service import ProductNotFound, check_availability

        try:
            return await check_availability(self._inventory, requested, cart=cart)
        except ProductNotFound as error:
            raise UnknownProduct(error.detail, **error.extensions) from None

    async def close(self) -> None:
        return None


class HttpAvailability:
    """Inventory as its own service: `POST /api/v1/products/check-availability`."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        """Asked with the caller's own token: inventory sees who is asking."""
        body: dict[str, Any] = {
            "items": [{"product_id": pid, "quantity": qty} for pid, qty in requested]
        }
        if cart:
            body["cart_id"] = cart
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._client.post(
                "/api/v1/products/check-availability", json=body, headers=headers
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"inventory is unreachable ({type(error).__name__})") from None
        if response.status_code == 404:
            problem = response.json()
            raise UnknownProduct(
                problem.get("detail", "unknown product"), product_ids=problem.get("product_ids", [])
            )
        if response.status_code != 200:
            raise Unavailable(f"inventory answered {response.status_code}")
        report: AvailabilityReport = response.json()
        return report

    async def close(self) -> None:
        await self._client.aclose()
