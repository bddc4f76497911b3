"""What operators see of sagas (API and CLI alike)."""

from typing import Any

from orderly.kernel.casing import snake
from orderly.sagas import store
from orderly.sagas.model import Saga, SagaNotFound, load, moment
from orderly.storage import Database, Row


def view(saga: Saga) -> dict[str, Any]:
    """What operators see of a saga (API and CLI alike): its data and details mirror the
    camelCase messages it sends, and are shown in snake_case as the REST answers."""
    return {
        "saga_id": saga.id,
        "kind": saga.kind,
        "state": saga.state.value,
        "reason": saga.reason,
        "data": snake(saga.data),
        "steps": [
            {
                "name": s["name"],
                "status": s["status"],
                "attempts": s["attempts"],
                "started_at": moment(s["started_at"]),
                "finished_at": moment(s["finished_at"]),
                "deadline_at": moment(s["deadline_at"]),
                "detail": snake(s["detail"]),
            }
            for s in saga.steps
        ],
    }


async def get(db: Database, saga_id: str) -> dict[str, Any]:
    saga = await db.read(lambda tx: load(tx, saga_id))
    if saga is None:
        raise SagaNotFound(f"saga {saga_id} does not exist")
    return view(saga)


async def find(db: Database, state: str = "", limit: int = 100) -> list[Row]:
    return await db.read(
        lambda tx: tx.fetch_all(store.LIST_SAGAS, {"state": state, "limit": limit})
    )
