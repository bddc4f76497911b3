"""A user's choice of optional mails: each one on unless the user turned it off."""

from collections.abc import Mapping

from orderly.kernel.clock import utcnow
from orderly.notifications import mailing, store
from orderly.notifications.domain import OPTIONAL, wanted
from orderly.storage import Database, Tx


async def _read(tx: Tx, user_id: str) -> dict[str, bool]:
    off = await mailing.turned_off(tx, user_id)
    return {kind.value: wanted(kind, off) for kind in OPTIONAL}


async def preferences_of(db: Database, user_id: str) -> dict[str, bool]:
    return await db.read(lambda tx: _read(tx, user_id))


async def set_preferences(
    db: Database, user_id: str, choices: Mapping[str, bool]
) -> dict[str, bool]:
    """Every optional mail on or off as `choices` says (one it leaves out is on). A mail is
    queued or skipped as the choice stands when its event is handled."""

    async def work(tx: Tx) -> dict[str, bool]:
        await tx.execute(store.CLEAR_OPT_OUTS, {"user_id": user_id})
        at = utcnow()
        for kind in OPTIONAL:
            if not choices.get(kind.value, True):
                params = {"user_id": user_id, "mail": kind.value, "at": at}
                await tx.execute(store.INSERT_OPT_OUT, params)
        return await _read(tx, user_id)

    return await db.transaction(work)
