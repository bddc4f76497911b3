"""Readiness: whether this process can serve now, which a load balancer and `orderly cluster
status` ask (`/health/ready`); liveness is only that it answers (`/health/live`)."""

import asyncio

from orderly.kernel.errors import Unavailable
from orderly.storage import Database, Tx, sql

_PING = sql("SELECT 1 AS one")
# a database slower than this to answer one row is not ready for requests
_WITHIN = 2.0


class NotReady(Unavailable):
    code = "not_ready"
    title = "This process cannot serve requests now"


async def check(databases: dict[str, Database]) -> None:
    for name, db in databases.items():
        try:
            await asyncio.wait_for(db.read(_ping), _WITHIN)
        except Exception as error:
            raise NotReady(
                f"the {name} database does not answer ({type(error).__name__})"
            ) from None


async def _ping(tx: Tx) -> None:
    await tx.fetch_one(_PING)
