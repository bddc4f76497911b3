"""The port ordering asks before any order exists: are these products available?"""

from typing import Any, Protocol

import httpx
import structlog

from orderly.inventory.messages import AvailabilityLine, AvailabilityReport
from orderly.kernel.errors import Unavailable, Unprocessable
from orderly.kernel.faults import Switches
from orderly.kernel.principal import Principal
from orderly.web.clients import REPEATABLE, service_client

log = structlog.get_logger(__name__)


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

    async def hold(
        self,
        order_id: str,
        requested: list[tuple[str, int]],
        *,
        caller: Principal,
        cart_id: str | None = None,
    ) -> list[AvailabilityLine]:
        """Hold the stock of an order about to be written, every line or none; the lines
        that could not be held (none: all are). Raises `UnknownProduct`."""
        ...

    async def let_go(self, order_id: str, *, token: str = "") -> None:
        """Give back the hold of an order that was not written (best effort: a hold that
        stays runs out by itself)."""
        ...

    async def close(self) -> None: ...


class HttpAvailability:
    """Inventory as its own service: `POST /api/v1/products/check-availability`."""

    def __init__(self, base_url: str, service_key: str = "", timeout: float = 5.0) -> None:
        self._client = service_client(base_url, timeout)
        # holds are a service's business, for its caller: both are shown
        self._service = {"Orderly-Service-Key": service_key}

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        """Asked with the caller's own token: inventory sees who is asking."""
        body: dict[str, Any] = {
            "items": [{"product_id": pid, "quantity": qty} for pid, qty in requested]
        }
        if cart:
            body["cart_id"] = cart
        try:
            response = await self._client.post(
                "/api/v1/products/check-availability",
                json=body,
                headers=_bearer(token),
                extensions=REPEATABLE,
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

    async def hold(
        self,
        order_id: str,
        requested: list[tuple[str, int]],
        *,
        caller: Principal,
        cart_id: str | None = None,
    ) -> list[AvailabilityLine]:
        """`POST /api/v1/inventory/reservations`, with the caller's own token."""
        body: dict[str, Any] = {
            "order_id": order_id,
            "items": [{"product_id": pid, "quantity": qty} for pid, qty in requested],
        }
        if cart_id:
            body["cart_id"] = cart_id
        # whose order it is, when an operator places it for a user (the token is the
        # operator's); inventory takes these from an operator only
        body |= {"customer": caller.user_id, "account": caller.account}
        try:
            response = await self._client.post(
                "/api/v1/inventory/reservations",
                json=body,
                headers=_bearer(caller.token) | self._service,
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"inventory is unreachable ({type(error).__name__})") from None
        if response.status_code == 201:
            return []
        if response.status_code == 409:
            short: list[AvailabilityLine] = response.json().get("items", [])
            return short
        if response.status_code == 404:
            problem = response.json()
            raise UnknownProduct(
                problem.get("detail", "unknown product"), product_ids=problem.get("product_ids", [])
            )
        raise Unavailable(f"inventory answered {response.status_code}")

    async def let_go(self, order_id: str, *, token: str = "") -> None:
        try:
            await self._client.delete(
                f"/api/v1/inventory/reservations/{order_id}",
                headers=_bearer(token) | self._service,
            )
        except httpx.HTTPError as error:  # the hold runs out by itself
            log.warning("letting go of a hold failed", order=order_id, error=type(error).__name__)

    async def close(self) -> None:
        await self._client.aclose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Switchable:
    """Inventory's availability, which an operator's fault switch can make unreachable: its
    calls then fail as they would with inventory down (the breaker opens on them)."""

    def __init__(self, inner: ProductAvailability, switches: Switches) -> None:
        self.inner = inner
        self.switches = switches

    def _reachable(self) -> None:
        if self.switches.is_down("inventory"):
            raise Unavailable("inventory is unreachable (an operator's fault switch)")

    async def check(
        self, requested: list[tuple[str, int]], *, token: str = "", cart: str = ""
    ) -> AvailabilityReport:
        self._reachable()
        return await self.inner.check(requested, token=token, cart=cart)

    async def hold(
        self,
        order_id: str,
        requested: list[tuple[str, int]],
        *,
        caller: Principal,
        cart_id: str | None = None,
    ) -> list[AvailabilityLine]:
        self._reachable()
        return await self.inner.hold(order_id, requested, caller=caller, cart_id=cart_id)

    async def let_go(self, order_id: str, *, token: str = "") -> None:
        await self.inner.let_go(order_id, token=token)

    async def close(self) -> None:
        await self.inner.close()
