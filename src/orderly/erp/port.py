"""The port to the ERP's sales orders, and its adapter for SAP's OData sales order API.

Every call carries an idempotency key (SAP's `Repeatability-Request-ID`): a call sent again
with the same key, after a timeout or a crash, answers the sales order the first one made and
never makes a second one.
"""

import asyncio
import random
from email.utils import format_datetime
from typing import Any, Protocol

import httpx

from orderly.erp.messages import CreateSalesOrder
from orderly.kernel.clock import utcnow

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


class Erp(Protocol):
    async def create_sales_order(self, request: CreateSalesOrder, key: str) -> str:
        """The sales order number the ERP gives the request; raises an `ErpFailure`."""
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
        self, base_url: str, timeout: float, retries: int, *, backoff: float = 0.2
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # made on first use: every process wires every context, and most never call the ERP
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self.timeout,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            )
        return self._client

    async def create_sales_order(self, request: CreateSalesOrder, key: str) -> str:
        headers = {
            KEY_HEADER: key,
            FIRST_SENT_HEADER: format_datetime(utcnow(), usegmt=True),
            "Accept": "application/json",
        }
        body = sales_order_body(request)
        failure: ErpFailure = ErpError("the ERP was not called")
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self._pause(attempt))
            try:
                return await self._post(body, headers)
            except (ErpTimeout, ErpError) as error:
                failure = error
        raise failure

    def _pause(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so callers that failed together spread out."""
        return float(random.uniform(0.5, 1.0) * self.backoff * 2 ** (attempt - 1))

    async def _post(self, body: dict[str, Any], headers: dict[str, str]) -> str:
        try:
            answer = await self._http().post(SALES_ORDERS, json=body, headers=headers)
        except httpx.TimeoutException:
            raise ErpTimeout(f"the ERP did not answer within {self.timeout}s") from None
        except httpx.TransportError as error:
            raise ErpError(f"the ERP could not be reached ({type(error).__name__})") from None
        if answer.status_code >= 500:
            raise ErpError(f"the ERP failed with HTTP {answer.status_code}")
        if answer.status_code >= 400:
            raise ErpRejected(f"the ERP refused the sales order: {_message(answer)}")
        try:
            return str(answer.json()["d"]["SalesOrder"])
        except (ValueError, KeyError, TypeError):
            raise ErpError("the ERP answered without a sales order number") from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _message(answer: httpx.Response) -> str:
    """The OData error's message (`{"error": {"message": {"value": ...}}}`), short."""
    try:
        text = str(answer.json()["error"]["message"]["value"])
    except (ValueError, KeyError, TypeError):
        text = f"HTTP {answer.status_code}"
    return text[:200]
