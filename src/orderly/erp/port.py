"""The port to the ERP's sales orders, and its adapter for SAP's OData sales order API.

Every call carries an idempotency key (SAP's `Repeatability-Request-ID`): a call sent again
with the same key, after a timeout or a crash, answers the sales order the first one made and
never makes a second one.
"""

import asyncio
import json
import random
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Protocol

from orderly.erp.messages import CreateSalesOrder
from orderly.kernel.clock import utcnow

if TYPE_CHECKING:
    import aiohttp

SALES_ORDERS = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
KEY_HEADER = "Repeatability-Request-ID"
FIRST_SENT_HEADER = "Repeatability-First-Sent"


class ErpFailure(Exception):
    """The ERP made no sales order that the caller knows of; `reason` names why."""

    reason = "erp_error"


class ErpTimeout(ErpFailure):
    """The ERP did not answer in time, every try: whether it made the order is unknown, and a
    later call with the same key finds out."""

    reason = "erp_timeout"


class ErpError(ErpFailure):
    """The ERP failed (a 5xx, or it could not be reached), every try."""

    reason = "erp_error"


class ErpRejected(ErpFailure):
    """The ERP refused the request (a 4xx): sending it again would not help."""

    reason = "erp_rejected"

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Erp(Protocol):
    async def create_sales_order(self, request: CreateSalesOrder, key: str) -> str:
        """The sales order number the ERP gives the request; raises an `ErpFailure`."""
        ...

    async def cancel_sales_order(self, number: str) -> None:
        """Cancel the sales order `number` (one the ERP no longer has counts as cancelled);
        raises an `ErpFailure`."""
        ...

    async def credit_sales_order(
        self, number: str, product_id: str, quantity: int, amount: str, key: str
    ) -> None:
        """Ask for a credit memo on the sales order `number`: `quantity` units of the product
        that will not ship, worth `amount`; once per `key`. Raises an `ErpFailure`."""
        ...

    async def close(self) -> None: ...


def sales_order_body(request: CreateSalesOrder) -> dict[str, Any]:
    """The request as SAP's `A_SalesOrder` with its items (OData v2, deep insert)."""
    items = [
        {
            "SalesOrderItem": str(10 * (number + 1)),
            "Material": line.ndc or line.product_id,
            "RequestedQuantity": str(line.quantity),
            "RequestedQuantityUnit": "EA",
            "NetAmount": str(line.price * line.quantity),
            "TransactionCurrency": request.currency,
        }
        for number, line in enumerate(request.items)
    ]
    return {
        "SalesOrderType": "OR",
        "SoldToParty": request.account_id or "",
        "PurchaseOrderByCustomer": request.order_id,
        "TotalNetAmount": str(request.total_amount),
        "TransactionCurrency": request.currency,
        "to_Item": {"results": items},
    }


class HttpErp:
    """SAP's sales order API over HTTP: each try waits `timeout` seconds; a timeout, a 5xx or
    a connection error is tried again up to `retries` times, after an exponential backoff
    with jitter, with the same key; a 4xx is not."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        retries: int,
        *,
        backoff: float = 0.2,
        connections: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.connections = connections
        self._client: aiohttp.ClientSession | None = None

    def _http(self) -> "aiohttp.ClientSession":
        # made on first use, and aiohttp imported then (0.1 s): every process wires every
        # context, and most never call the ERP
        if self._client is None:
            import aiohttp

            self._client = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=self.connections),
            )
        return self._client

    async def create_sales_order(self, request: CreateSalesOrder, key: str) -> str:
        headers = {
            KEY_HEADER: key,
            FIRST_SENT_HEADER: format_datetime(utcnow(), usegmt=True),
            "Accept": "application/json",
        }
        body = sales_order_body(request)
        text = await self._with_retries("POST", self.base_url + SALES_ORDERS, body, headers)
        try:
            return str(json.loads(text)["d"]["SalesOrder"])
        except (ValueError, KeyError, TypeError):
            raise ErpError("the ERP answered without a sales order number") from None

    async def cancel_sales_order(self, number: str) -> None:
        # OData v2 deletes an entity by its key; `If-Match: *` is any version of it
        url = f"{self.base_url}{SALES_ORDERS}('{number}')"
        headers = {"If-Match": "*", "Accept": "application/json"}
        try:
            await self._with_retries("DELETE", url, None, headers)
        except ErpRejected as refusal:
            if refusal.status != 404:  # a sales order the ERP does not have is not there
                raise

    async def credit_sales_order(
        self, number: str, product_id: str, quantity: int, amount: str, key: str
    ) -> None:
        url = f"{self.base_url}{SALES_ORDERS}('{number}')/to_CreditMemoRequest"
        headers = {
            KEY_HEADER: key,
            FIRST_SENT_HEADER: format_datetime(utcnow(), usegmt=True),
            "Accept": "application/json",
        }
        body = {
            "Material": product_id,
            "RequestedQuantity": str(quantity),
            "NetAmount": amount,
            "SDDocumentReason": "short_shipment",
        }
        await self._with_retries("POST", url, body, headers)

    async def _with_retries(
        self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> str:
        failure: ErpFailure = ErpError("the ERP was not called")
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self._pause(attempt))
            try:
                return await self._send(method, url, body, headers)
            except (ErpTimeout, ErpError) as error:
                failure = error
        raise failure

    def _pause(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so callers that failed together spread out."""
        return float(random.uniform(0.5, 1.0) * self.backoff * 2 ** (attempt - 1))

    async def _send(
        self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> str:
        """One try: the answer's text, or the `ErpFailure` its status (or its absence) is."""
        import aiohttp

        try:
            async with self._http().request(method, url, json=body, headers=headers) as answer:
                status = answer.status
                text = await answer.text()
        except TimeoutError:
            raise ErpTimeout(f"the ERP did not answer within {self.timeout}s") from None
        except aiohttp.ClientError as error:
            raise ErpError(f"the ERP could not be reached ({type(error).__name__})") from None
        if status >= 500:
            raise ErpError(f"the ERP failed with HTTP {status}")
        if status >= 400:
            raise ErpRejected(
                f"the ERP refused the sales order: {_message(status, text)}", status=status
            )
        return text

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _message(status: int, text: str) -> str:
    """The OData error's message (`{"error": {"message": {"value": ...}}}`), short."""
    try:
        message = str(json.loads(text)["error"]["message"]["value"])
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {status}"
    return message[:200]
