"""Notifications' routes: the mail log, for operators; a customer's optional mails."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, StrictBool

from orderly.kernel.clock import iso_z
from orderly.notifications import preferences, store
from orderly.storage import Database
from orderly.web.auth import Caller, Operator
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


class PreferencesOut(BaseModel):
    shipped: bool
    delivered: bool


class PreferencesIn(BaseModel):
    """Every optional mail, on (true) or off (false); one left out is on."""

    model_config = ConfigDict(extra="forbid")

    shipped: StrictBool = True
    delivered: StrictBool = True


@router.get("/api/v1/notifications/preferences", response_model=PreferencesOut)
async def get_preferences(db: Notifications, caller: Caller) -> dict[str, bool]:
    """The caller's optional mails: on (true) or turned off (false). Confirmations,
    failures, cancellations and holds always go."""
    return await preferences.preferences_of(db, caller.user_id)


@router.put("/api/v1/notifications/preferences", response_model=PreferencesOut)
async def set_preferences(
    body: PreferencesIn, db: Notifications, caller: Caller
) -> dict[str, bool]:
    """Turn the caller's optional mails on or off, from the next event on: a mail turned
    off is kept in the log as `skipped` and never sent."""
    return await preferences.set_preferences(db, caller.user_id, body.model_dump())


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
