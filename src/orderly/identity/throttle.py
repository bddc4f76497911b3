"""Brute force (docs/architecture.md, "Brute force"): the limits on failed sign-in attempts,
read from the auth audit, and the addresses a user is known to sign in from."""

from datetime import timedelta

from orderly.identity import domain, store
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import OrderlyError
from orderly.storage import Database


class TooManyAttempts(OrderlyError):
    status = 429
    code = "too_many_attempts"
    title = "Too many failed attempts"


# Failures within the window, counted per e-mail and address pair, per e-mail, and per
# address (`domain.client_key`); the last two spare an address the e-mail completed a login
# from within KNOWN_CLIENT_TTL, so an attacker cannot lock a user out of the places it signs
# in from. Offices share an address: an address may fail more often than one e-mail may be
# failed on.
FAILURE_WINDOW = timedelta(minutes=5)
LIMITS = {"pair": 5, "email": 20, "client": 30}
KNOWN_CLIENT_TTL = timedelta(days=30)


async def throttle(
    db: Database, kind: str, email: str, client: str, *, own_failure: bool = False
) -> None:
    """Refuse (429) an attempt beyond the limits, before its secret is checked.

    Called again once the attempt's outcome is recorded (`own_failure` says whether that
    record is a failure): guesses sent together all pass the first call, and only those
    within the limits get their answer; the rest get 429 too, right or wrong, so a burst
    learns no more than the limits allow."""
    now = utcnow()
    params = {"kind": kind, "email": email, "client": client, "since": now - FAILURE_WINDOW}
    rows = await db.read(lambda tx: tx.fetch_all(store.RECENT_FAILURES, params))
    tripped = [row for row in rows if int(row["n"]) - int(own_failure) >= LIMITS[str(row["scope"])]]
    if not tripped:
        return
    if all(row["scope"] != "pair" for row in tripped) and await _known(db, email, client):
        return
    wait = max(domain.seconds_until(row["oldest"], FAILURE_WINDOW, now) for row in tripped)
    raise TooManyAttempts(
        "too many failed attempts; try again later", retry_after=wait
    ).with_headers({"Retry-After": str(wait)})


async def _known(db: Database, email: str, client: str) -> bool:
    params = {"email": email, "client": client, "since": utcnow() - KNOWN_CLIENT_TTL}
    return await db.read(lambda tx: tx.fetch_one(store.KNOWN_CLIENT, params)) is not None


async def remember_client(db: Database, email: str, client: str) -> None:
    """`email` completed a login from `client`: from now on the wider limits spare it there."""
    params = {"email": email, "client": client, "at": utcnow()}
    await db.transaction(lambda tx: tx.execute(store.REMEMBER_CLIENT, params))
