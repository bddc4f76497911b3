"""The peer of the B2B checkout (seed 000 section 3): the same four steps written with DBOS,
served over HTTP as Orderly is, so that one client measures both from the request to the
CONFIRMED order.

The request is authenticated (an ES256 bearer token carrying the buyer's account, verified once
and then remembered), its body validated and its prices read, and one workflow started under
the order's id; the answer (201, `PENDING`) goes out once DBOS has recorded the workflow and
its input. The workflow writes the order `PENDING` (its lines and first history entry), then
runs the saga's steps, each a DBOS step checkpointed in its own transaction:

1. compliance check: the account's registration and the products' rule data read, the rules a
   non-controlled order meets applied (an active registration, a state licence valid on the
   order's date, every product serialized), and the decision written to the audit table;
2. hard reserve: each line's stock row decremented (never below zero) and a reservation row;
3. price lock: each line priced again today and, if the price is the one ordered, a lock row;
4. ERP sales order: an HTTP POST of the SAP OData sales order to the same simulator Orderly
   calls, with the order's id as `Repeatability-Request-ID` (a retried call makes no second
   sales order), retried on timeouts and 5xx;

then the order `CONFIRMED` with its sales order number. A failing step undoes the ones before
it in reverse (lock voided, stock released, decision voided) and the order is `FAILED`.

The tables and DBOS's system tables live in one database (SQLite in WAL with every commit
synced, or PostgreSQL), as in `bench/dbos_peer.py`, whose connection pool this reuses; the
server is uvicorn on uvloop and httptools. Its endpoints are the ones the B2B bench calls
(`POST /api/v1/accounts`, `POST /api/v1/products`, `POST /api/v1/orders`,
`GET /api/v1/orders`, `GET /api/v1/orders/{id}`), with Orderly's request and answer shapes.

Run as its own process (DBOS is a process-wide singleton):
    python -m bench.dbos_b2b_peer PORT PUBLIC_KEY_PEM_FILE DATABASE_URL ERP_URL
"""

import json
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bench.dbos_peer import AUDIENCE, WORKERS, App, _database

SALES_ORDERS = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
ERP_TIMEOUT = 5.0
ERP_RETRIES = 2
# Seed 000's words for the order's states.
PENDING, CONFIRMED, FAILED = "PENDING", "CONFIRMED", "FAILED"


class Item(BaseModel):
    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1_000_000)


class Address(BaseModel):
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str | None = Field(default=None, max_length=2)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2)


class PlaceOrder(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=500)
    shipping_address: Address
    channel: str = "b2b"


class NewProduct(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    sku: str = Field(min_length=1, max_length=64)
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    stock: int = Field(ge=0)
    ndc: str | None = None
    dea_schedule: str | None = None
    serialized: bool = True


class NewAccount(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    dea_number: str
    dea_expires_on: date
    licence_state: str
    licence_expires_on: date


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Refused(Exception):
    """A step that could not take effect: the saga undoes what came before it."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(reason)
        self.step, self.reason = step, reason


def setup(app: App) -> None:
    with app.tx() as cur:
        for ddl in (
            "CREATE TABLE peer_accounts (id VARCHAR(64) PRIMARY KEY, dea_number TEXT NOT NULL,"
            " dea_active BOOLEAN NOT NULL, dea_expires_on TEXT NOT NULL,"
            " licence_state TEXT, licence_expires_on TEXT)",
            "CREATE TABLE peer_products (id VARCHAR(36) PRIMARY KEY, name TEXT NOT NULL,"
            " sku TEXT NOT NULL UNIQUE, ndc TEXT, price_cents BIGINT NOT NULL,"
            " dea_schedule TEXT, serialized BOOLEAN NOT NULL)",
            "CREATE TABLE peer_stock (product_id VARCHAR(36) PRIMARY KEY,"
            " on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL)",
            "CREATE TABLE peer_reservations (order_id VARCHAR(36), product_id VARCHAR(36),"
            " quantity BIGINT NOT NULL, status VARCHAR(16) NOT NULL,"
            " PRIMARY KEY (order_id, product_id))",
            "CREATE TABLE peer_decisions (id VARCHAR(36) PRIMARY KEY, order_id VARCHAR(36)"
            " NOT NULL, run INT NOT NULL, account_id TEXT NOT NULL, decision VARCHAR(16)"
            " NOT NULL, rule TEXT, reason TEXT, inputs TEXT NOT NULL, actor TEXT NOT NULL,"
            " at TEXT NOT NULL, voided_at TEXT, void_reason TEXT)",
            "CREATE INDEX peer_decisions_order ON peer_decisions (order_id, run)",
            "CREATE TABLE peer_price_locks (order_id VARCHAR(36), line_no INT,"
            " product_id VARCHAR(36) NOT NULL, quantity BIGINT NOT NULL,"
            " unit_price_cents BIGINT NOT NULL, status VARCHAR(16) NOT NULL,"
            " locked_at TEXT NOT NULL, PRIMARY KEY (order_id, line_no))",
            "CREATE TABLE peer_orders (id VARCHAR(36) PRIMARY KEY, owner_id TEXT NOT NULL,"
            " account_id TEXT NOT NULL, status VARCHAR(16) NOT NULL, channel TEXT NOT NULL,"
            " shipping_address TEXT NOT NULL, total_cents BIGINT NOT NULL,"
            " sales_order_number TEXT, failure TEXT, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, version INT NOT NULL)",
            "CREATE INDEX peer_orders_account ON peer_orders (account_id, created_at)",
            "CREATE TABLE peer_order_items (order_id VARCHAR(36), line_no INT,"
            " product_id VARCHAR(36) NOT NULL, quantity BIGINT NOT NULL,"
            " unit_price_cents BIGINT NOT NULL, PRIMARY KEY (order_id, line_no))",
            f"CREATE TABLE peer_order_history (id {app.serial}, order_id VARCHAR(36)"
            " NOT NULL, status VARCHAR(16) NOT NULL, at TEXT NOT NULL, details TEXT NOT NULL)",
            "CREATE INDEX peer_order_history_order ON peer_order_history (order_id)",
        ):
            cur.execute(ddl)


def serve(port: int, public_key: str, url: str, erp_url: str) -> None:
    import uvicorn
    from dbos import DBOS, DBOSConfig, SetWorkflowID

    app, database = _database(url)
    setup(app)
    q = app.q
    erp = httpx.Client(
        base_url=erp_url.rstrip("/"),
        timeout=ERP_TIMEOUT,
        limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS),
    )

    def move(cur: Any, order_id: str, status: str, details: dict[str, Any]) -> None:
        at = _now()
        cur.execute(
            q(
                "UPDATE peer_orders SET status = ?, updated_at = ?, version = version + 1"
                " WHERE id = ?"
            ),
            (status, at, order_id),
        )
        cur.execute(
            q("INSERT INTO peer_order_history (order_id, status, at, details) VALUES (?, ?, ?, ?)"),
            (order_id, status, at, json.dumps(details)),
        )

    @DBOS.step()
    def create_order(order: dict[str, Any]) -> None:
        """The order `PENDING`, its lines and its first history entry."""
        with app.tx() as cur:
            at = _now()
            cur.execute(
                q(
                    "INSERT INTO peer_orders (id, owner_id, account_id, status, channel,"
                    " shipping_address, total_cents, created_at, updated_at, version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
                ),
                (
                    order["id"],
                    order["owner_id"],
                    order["account_id"],
                    PENDING,
                    order["channel"],
                    json.dumps(order["shipping_address"]),
                    order["total_cents"],
                    at,
                    at,
                ),
            )
            cur.executemany(
                q(
                    "INSERT INTO peer_order_items (order_id, line_no, product_id, quantity,"
                    " unit_price_cents) VALUES (?, ?, ?, ?, ?)"
                ),
                [
                    (order["id"], n, line["product_id"], line["quantity"], line["price"])
                    for n, line in enumerate(order["lines"], 1)
                ],
            )
            cur.execute(
                q(
                    "INSERT INTO peer_order_history (order_id, status, at, details)"
                    " VALUES (?, ?, ?, ?)"
                ),
                (order["id"], PENDING, at, "{}"),
            )

    @DBOS.step()
    def check_compliance(order: dict[str, Any], run: int) -> str | None:
        """The rules a non-controlled order meets, read and applied; the decision audited.
        The rule that rejected it, or None."""
        today = date.today().isoformat()
        wanted = sorted({line["product_id"] for line in order["lines"]})
        with app.tx() as cur:
            cur.execute(
                q(
                    "SELECT dea_number, dea_active, dea_expires_on, licence_state,"
                    " licence_expires_on FROM peer_accounts WHERE id = ?"
                ),
                (order["account_id"],),
            )
            account = cur.fetchone()
            cur.execute(
                q(
                    "SELECT id, dea_schedule, serialized FROM peer_products WHERE id IN"
                    f" ({', '.join('?' for _ in wanted)})"
                ),
                wanted,
            )
            products = {row[0]: row for row in cur.fetchall()}
            rule = None
            if account is None:
                rule = "no_registration"
            elif not account[1]:
                rule = "dea_registration_inactive"
            elif account[2] < today:
                rule = "dea_registration_expired"
            elif not account[3] or not account[4] or account[4] < today:
                rule = "state_licence_invalid"
            elif any(p not in products or not products[p][2] for p in wanted):
                rule = "product_not_serialized"
            elif any(products[p][1] for p in wanted):
                rule = "schedule_not_covered"  # the bench orders no controlled line
            inputs = {
                "account": None if account is None else [str(v) for v in account],
                "products": {p: [str(v) for v in products.get(p, ())] for p in wanted},
                "orderDate": today,
            }
            cur.execute(
                q(
                    "INSERT INTO peer_decisions (id, order_id, run, account_id, decision, rule,"
                    " reason, inputs, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    str(uuid.uuid4()),
                    order["id"],
                    run,
                    order["account_id"],
                    "passed" if rule is None else "rejected",
                    rule,
                    rule,
                    json.dumps(inputs),
                    "system",
                    _now(),
                ),
            )
        return rule

    @DBOS.step()
    def void_compliance(order_id: str, run: int) -> None:
        with app.tx() as cur:
            cur.execute(
                q(
                    "UPDATE peer_decisions SET voided_at = ?, void_reason = 'compensation'"
                    " WHERE order_id = ? AND run = ? AND voided_at IS NULL"
                ),
                (_now(), order_id, run),
            )

    @DBOS.step()
    def reserve(order_id: str, lines: list[dict[str, Any]]) -> bool:
        """Every line's stock reserved, or nothing taken."""
        try:
            with app.tx() as cur:
                for line in sorted(lines, key=lambda line: str(line["product_id"])):
                    cur.execute(
                        q(
                            "UPDATE peer_stock SET reserved = reserved + ?"
                            " WHERE product_id = ? AND on_hand - reserved >= ?"
                        ),
                        (line["quantity"], line["product_id"], line["quantity"]),
                    )
                    if not cur.rowcount:
                        raise _Short  # undoes the lines already taken
                    cur.execute(
                        q(
                            "INSERT INTO peer_reservations (order_id, product_id, quantity,"
                            " status) VALUES (?, ?, ?, 'reserved')"
                        ),
                        (order_id, line["product_id"], line["quantity"]),
                    )
        except _Short:
            return False
        return True

    @DBOS.step()
    def release(order_id: str) -> None:
        with app.tx() as cur:
            cur.execute(
                q(
                    "UPDATE peer_stock SET reserved = reserved - r.quantity FROM"
                    " (SELECT product_id, quantity FROM peer_reservations WHERE order_id = ?"
                    " AND status = 'reserved') AS r WHERE peer_stock.product_id = r.product_id"
                ),
                (order_id,),
            )
            cur.execute(
                q("UPDATE peer_reservations SET status = 'released' WHERE order_id = ?"),
                (order_id,),
            )

    @DBOS.step()
    def lock_prices(order_id: str, lines: list[dict[str, Any]]) -> bool:
        """Every line priced again today; locked if its price is the one ordered."""
        wanted = sorted({line["product_id"] for line in lines})
        with app.tx() as cur:
            cur.execute(
                q(
                    "SELECT id, price_cents FROM peer_products WHERE id IN"
                    f" ({', '.join('?' for _ in wanted)})"
                ),
                wanted,
            )
            today = dict(cur.fetchall())
            if any(today.get(line["product_id"]) != line["price"] for line in lines):
                return False
            at = _now()
            cur.executemany(
                q(
                    "INSERT INTO peer_price_locks (order_id, line_no, product_id, quantity,"
                    " unit_price_cents, status, locked_at) VALUES (?, ?, ?, ?, ?, 'locked', ?)"
                ),
                [
                    (order_id, n, line["product_id"], line["quantity"], line["price"], at)
                    for n, line in enumerate(lines, 1)
                ],
            )
        return True

    @DBOS.step()
    def void_prices(order_id: str) -> None:
        with app.tx() as cur:
            cur.execute(
                q("UPDATE peer_price_locks SET status = 'voided' WHERE order_id = ?"), (order_id,)
            )

    @DBOS.step()
    def create_sales_order(order: dict[str, Any]) -> str | None:
        """The ERP's sales order number, or None when it refused or never answered."""
        body = {
            "SalesOrderType": "OR",
            "SoldToParty": order["account_id"],
            "PurchaseOrderByCustomer": order["id"],
            "TotalNetAmount": str(Decimal(order["total_cents"]) / 100),
            "TransactionCurrency": "USD",
            "to_Item": {
                "results": [
                    {
                        "SalesOrderItem": str(10 * n),
                        "Material": line["ndc"] or line["product_id"],
                        "RequestedQuantity": str(line["quantity"]),
                        "RequestedQuantityUnit": "EA",
                        "NetAmount": str(Decimal(line["price"] * line["quantity"]) / 100),
                        "TransactionCurrency": "USD",
                    }
                    for n, line in enumerate(order["lines"], 1)
                ]
            },
        }
        headers = {
            "Repeatability-Request-ID": order["id"],
            "Repeatability-First-Sent": format_datetime(datetime.now(UTC), usegmt=True),
            "Accept": "application/json",
        }
        for attempt in range(ERP_RETRIES + 1):
            if attempt:
                time.sleep(0.2 * 2 ** (attempt - 1))
            try:
                answer = erp.post(SALES_ORDERS, json=body, headers=headers)
            except httpx.TransportError:
                continue
            if answer.status_code >= 500:
                continue
            if answer.status_code >= 400:
                return None
            return str(answer.json()["d"]["SalesOrder"])
        return None

    @DBOS.step()
    def confirm(order_id: str, number: str) -> None:
        with app.tx() as cur:
            cur.execute(
                q("UPDATE peer_orders SET sales_order_number = ? WHERE id = ?"),
                (number, order_id),
            )
            move(cur, order_id, CONFIRMED, {"sales_order_number": number})

    @DBOS.step()
    def fail(order_id: str, step: str, reason: str) -> None:
        failure = {"step": step, "reason": reason}
        with app.tx() as cur:
            cur.execute(
                q("UPDATE peer_orders SET failure = ? WHERE id = ?"),
                (json.dumps(failure), order_id),
            )
            move(cur, order_id, FAILED, failure)

    @DBOS.workflow()
    def checkout(order: dict[str, Any]) -> str:
        """Seed 000's saga: compliance, hard reserve, price lock, ERP sales order; a failure
        undoes the steps before it in reverse."""
        order_id, run, lines = order["id"], 1, order["lines"]
        create_order(order)
        undo: list[Any] = []
        try:
            rule = check_compliance(order, run)
            if rule is not None:
                raise _Refused("compliance", rule)
            undo.append(lambda: void_compliance(order_id, run))
            if not reserve(order_id, lines):
                raise _Refused("reserve", "insufficient_stock")
            undo.append(lambda: release(order_id))
            if not lock_prices(order_id, lines):
                raise _Refused("price", "price_changed")
            undo.append(lambda: void_prices(order_id))
            number = create_sales_order(order)
            if number is None:
                raise _Refused("erp", "erp_error")
        except _Refused as refused:
            for step in reversed(undo):
                step()
            fail(order_id, refused.step, refused.reason)
            return FAILED
        confirm(order_id, number)
        return CONFIRMED

    key = Path(public_key).read_text()
    known: dict[str, dict[str, Any]] = {}

    def caller(authorization: Annotated[str, Header()]) -> dict[str, Any]:
        scheme, _, token = authorization.partition(" ")
        claims = known.get(token)
        if claims is None:
            if scheme.lower() != "bearer":
                raise HTTPException(401, "bearer token required")
            try:
                claims = jwt.decode(token, key, algorithms=["ES256"], audience=AUDIENCE)
            except jwt.PyJWTError:
                raise HTTPException(401, "invalid token") from None
            known[token] = claims
        return claims

    def operator(who: dict[str, Any]) -> None:
        if who.get("role") != "operator":
            raise HTTPException(403, "operators only")

    api = FastAPI()

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/api/v1/accounts", status_code=201)
    def new_account(
        body: NewAccount, who: Annotated[dict[str, Any], Depends(caller)]
    ) -> dict[str, str]:
        operator(who)
        with app.tx() as cur:
            cur.execute(
                q(
                    "INSERT INTO peer_accounts (id, dea_number, dea_active, dea_expires_on,"
                    " licence_state, licence_expires_on) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (
                    body.id,
                    body.dea_number,
                    True,
                    body.dea_expires_on.isoformat(),
                    body.licence_state,
                    body.licence_expires_on.isoformat(),
                ),
            )
        return {"id": body.id}

    @api.post("/api/v1/products", status_code=201)
    def new_product(
        body: NewProduct, who: Annotated[dict[str, Any], Depends(caller)]
    ) -> dict[str, str]:
        operator(who)
        product_id = str(uuid.uuid4())
        with app.tx() as cur:
            cur.execute(
                q(
                    "INSERT INTO peer_products (id, name, sku, ndc, price_cents, dea_schedule,"
                    " serialized) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    product_id,
                    body.name,
                    body.sku,
                    body.ndc,
                    int(body.price * 100),
                    body.dea_schedule,
                    body.serialized,
                ),
            )
            cur.execute(
                q("INSERT INTO peer_stock (product_id, on_hand, reserved) VALUES (?, ?, 0)"),
                (product_id, body.stock),
            )
        return {"id": product_id}

    @api.post("/api/v1/orders")
    def place(body: PlaceOrder, who: Annotated[dict[str, Any], Depends(caller)]) -> JSONResponse:
        account_id = who.get("account")
        if not account_id or body.channel != "b2b":
            raise HTTPException(403, "b2b orders are placed by an account's buyers")
        wanted = sorted({item.product_id for item in body.items})
        with app.tx() as cur:
            cur.execute(
                q(
                    "SELECT id, price_cents, ndc FROM peer_products WHERE id IN"
                    f" ({', '.join('?' for _ in wanted)})"
                ),
                wanted,
            )
            products = {row[0]: row for row in cur.fetchall()}
        unknown = [product_id for product_id in wanted if product_id not in products]
        if unknown:
            raise HTTPException(422, f"unknown products: {unknown}")
        lines = [
            {
                "product_id": i.product_id,
                "quantity": i.quantity,
                "price": products[i.product_id][1],
                "ndc": products[i.product_id][2],
            }
            for i in body.items
        ]
        total = sum(line["price"] * line["quantity"] for line in lines)
        order = {
            "id": str(uuid.uuid4()),
            "owner_id": who["sub"],
            "account_id": account_id,
            "channel": body.channel,
            "shipping_address": body.shipping_address.model_dump(),
            "lines": lines,
            "total_cents": total,
        }
        with SetWorkflowID(order["id"]):
            DBOS.start_workflow(checkout, order)
        return JSONResponse(
            {
                "order_id": order["id"],
                "status": PENDING,
                "channel": "b2b",
                "total_amount": str(Decimal(total) / 100),
                "currency": "USD",
            },
            status_code=202,  # accepted: the saga runs on
        )

    def summary(row: Any) -> dict[str, Any]:
        return {
            "order_id": row[0],
            "status": row[1],
            "channel": row[2],
            "total_amount": str(Decimal(row[3]) / 100),
            "currency": "USD",
            "created_at": row[4],
            "updated_at": row[5],
        }

    @api.get("/api/v1/orders")
    def orders(
        who: Annotated[dict[str, Any], Depends(caller)],
        status: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        in_status = "" if status is None else " AND status = ?"
        with app.tx() as cur:
            cur.execute(
                q(
                    "SELECT id, status, channel, total_cents, created_at, updated_at"
                    f" FROM peer_orders WHERE account_id = ?{in_status}"
                    " ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
                ),
                (who.get("account"), *(() if status is None else (status,)), limit, offset),
            )
            return [summary(row) for row in cur.fetchall()]

    @api.get("/api/v1/orders/{order_id}")
    def order(order_id: str, who: Annotated[dict[str, Any], Depends(caller)]) -> dict[str, Any]:
        with app.tx() as cur:
            cur.execute(
                q(
                    "SELECT id, status, channel, total_cents, created_at, updated_at,"
                    " sales_order_number, failure FROM peer_orders"
                    " WHERE id = ? AND account_id = ?"
                ),
                (order_id, who.get("account")),
            )
            row = cur.fetchone()
            if row is None:
                raise HTTPException(404, "no such order")
            cur.execute(
                q(
                    "SELECT status, at, details FROM peer_order_history WHERE order_id = ?"
                    " ORDER BY id"
                ),
                (order_id,),
            )
            history = [
                {"status": s, "at": at, "details": json.loads(d)} for s, at, d in cur.fetchall()
            ]
        return {
            **summary(row),
            "sales_order_number": row[6],
            "failure": None if row[7] is None else json.loads(row[7]),
            "history": history,
        }

    config: DBOSConfig = {
        "name": "b2b-checkout-peer",
        "log_level": "WARNING",
        "max_executor_threads": WORKERS,
        **database,  # type: ignore[typeddict-item]
    }
    DBOS(config=config)
    DBOS.launch()
    try:
        uvicorn.run(
            api,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
    finally:
        DBOS.destroy()
        erp.close()


class _Short(Exception):
    """Not enough stock for a line: the reservation step takes nothing."""


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
