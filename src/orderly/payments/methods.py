"""Saved payment methods: a card token and a label, seen only by their owner."""

from typing import Any

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.payments import domain, store
from orderly.storage import Database, Row, Tx


class PaymentMethodNotFound(NotFound):
    code = "payment_method_not_found"
    title = "Payment method not found"


def _method_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["owner_id"],
        "type": "card_token",
        "label": row["label"],
        "token_hint": domain.hint(row["token"]),
        "created_at": row["created_at"],
    }


async def add_method(db: Database, caller: Principal, token: str, label: str) -> dict[str, Any]:
    domain.check_token(token)
    method_id = f"pm_{new_id()}"

    async def work(tx: Tx) -> Row:
        params = {"id": method_id, "owner_id": caller.user_id, "token": token, "label": label}
        await tx.execute(store.INSERT_METHOD, {**params, "at": utcnow()})
        row = await tx.fetch_one(store.GET_METHOD, {"id": method_id})
        assert row is not None
        return row

    return _method_view(await db.transaction(work))


async def get_method(db: Database, caller: Principal, method_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.GET_METHOD, {"id": method_id}))
    if row is None or not caller.may_see(row["owner_id"], None):
        raise PaymentMethodNotFound(f"payment method {method_id} does not exist")
    return _method_view(row)


async def list_methods(db: Database, caller: Principal) -> list[dict[str, Any]]:
    rows = await db.read(lambda tx: tx.fetch_all(store.OWN_METHODS, {"owner_id": caller.user_id}))
    return [_method_view(row) for row in rows]


async def delete_method(db: Database, caller: Principal, method_id: str) -> None:
    deleted = await db.transaction(
        lambda tx: tx.execute(store.DELETE_METHOD, {"id": method_id, "owner_id": caller.user_id})
    )
    if not deleted:
        raise PaymentMethodNotFound(f"payment method {method_id} does not exist")
