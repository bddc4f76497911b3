"""Seed 002's self-registration, limited per address."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orderly.identity import domain, store
from orderly.identity.passwords import Passwords
from orderly.identity.users import Registration, insert_user
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import OrderlyError
from orderly.kernel.ids import new_id
from orderly.storage import Database, Tx


class TooManyRegistrations(OrderlyError):
    status = 429
    code = "too_many_registrations"
    title = "Too many registrations from this address"


@dataclass(frozen=True)
class RegistrationLimit:
    """At most `count` registrations from one address (`domain.client_key`) per `window`."""

    count: int
    window: timedelta


async def register(
    db: Database, passwords: Passwords, new: Registration, client: str, limit: RegistrationLimit
) -> dict[str, Any]:
    """Seed 002 flow 1, answered alike whether or not the e-mail already has an account.

    Both cases hash the password and write in one transaction (the user and `user.created`,
    or nothing), and answer the same body: the new user then logs in. Handing out a token
    here would tell whoever registers a taken e-mail that it is taken."""
    email = domain.normalise_email(new.email)
    domain.check_password(new.password, email=email)
    attempt_id = await _admit_registration(db, email, domain.client_key(client), limit)
    password_hash = await passwords.hash(new.password)
    user_id = new_id()

    async def work(tx: Tx) -> None:
        created = await insert_user(tx, user_id, email, password_hash, new)
        outcome = {"id": attempt_id, "outcome": "created" if created else "taken"}
        await tx.execute(store.SET_AUTH_OUTCOME, outcome)

    await db.transaction(work)
    return {"email": email, "status": "accepted"}


async def _admit_registration(
    db: Database, email: str, client: str, limit: RegistrationLimit
) -> str:
    """Count the address's recent registrations and record this one in the same transaction,
    under a lock per address on PostgreSQL (SQLite has one writer): of registrations sent
    together from one address, exactly `limit.count` get through while the window has room,
    whichever process serves them. The id of the attempt."""
    attempt_id = new_id()
    now = utcnow()
    params = {"client": client, "since": now - limit.window}
    event = {
        "id": attempt_id,
        "kind": "register",
        "outcome": "pending",
        "email": email,
        "client": client or "-",
        "at": now,
    }

    async def work(tx: Tx) -> datetime | str | None:
        if tx.dialect == "postgresql":
            await tx.fetch_one(store.LOCK_REGISTRATIONS, {"key": f"register {client}"})
        row = await tx.fetch_one(store.RECENT_REGISTRATIONS, params)
        assert row is not None
        if int(row["n"]) >= limit.count:
            oldest: datetime | str = row["oldest"]
            return oldest
        await tx.execute(store.INSERT_AUTH_EVENT, event)
        return None

    oldest = await db.transaction(work)
    if oldest is None:
        return attempt_id
    wait = domain.seconds_until(oldest, limit.window, now)
    raise TooManyRegistrations(
        "too many registrations from this address; try again later", retry_after=wait
    ).with_headers({"Retry-After": str(wait)})
