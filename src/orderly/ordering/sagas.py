"""Ordering's sagas together: the guarded checkout's (seed 003) and the B2B checkout's
(seed 000), as the deployment's policy times them, and the worker that times their steps."""

import functools
from functools import partial

from orderly.contexts import Worker
from orderly.kernel.aio import drain, every
from orderly.ordering import b2b_saga, checkout_saga
from orderly.ordering.policy import OrderingPolicy
from orderly.sagas import engine
from orderly.sagas.engine import Definition
from orderly.storage import Database

Definitions = dict[str, Definition]


@functools.cache
def definitions(policy: OrderingPolicy) -> Definitions:
    return {**checkout_saga.definitions(policy), **b2b_saga.definitions(policy)}


def timer(policy: OrderingPolicy) -> Worker:
    """The worker that sends again, or fails, saga steps past their deadline."""
    known = definitions(policy)
    step_timeout = policy.timing.step_timeout

    async def saga_timer(db: Database, interval: float) -> None:
        """Every `interval` seconds (more often for short steps)."""
        overdue = partial(drain, partial(engine.expire_overdue, db, known), 200)
        await every(min(interval, max(step_timeout / 4, 0.05)), overdue, "saga timeouts failed")

    return saga_timer
