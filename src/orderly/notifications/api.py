"""Notifications' routes: the mail log, for operators."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from orderly.kernel.clock import iso_z
from orderly.notifications import store
from orderly.storage import Database
from orderly.web.auth import Operator
from orderly.web.dependencies import database

router = APIRouter(tags=["notifications"])

Notifications = Annotated[Database, Depends(database("notifications"))]


class MailOut(BaseModel):
    id: str
    to: str
    subject: str
    body: str
    template: str
    order_id: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None


@router.get("/api/v1/notifications/mails", response_model=list[MailOut])
async def list_mails(
    db: Notifications,
    _: Operator,
    order_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The mails of an order, oldest first; without `order_id`, the latest `limit`."""
    if order_id is not None:
        rows = await db.read(lambda tx: tx.fetch_all(store.BY_ORDER, {"order_id": order_id}))
    else:
        rows = await db.read(lambda tx: tx.fetch_all(store.LATEST, {"limit": limit}))
    return [_view(row) for row in rows]


def _view(row: Any) -> dict[str, Any]:
    view = store.mail_view(row)
    for name in ("created_at", "sent_at"):
        moment = view[name]
        view[name] = iso_z(moment) if isinstance(moment, datetime) else moment
    return view
