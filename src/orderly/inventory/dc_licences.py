"""Distribution centres' DEA registrations and state licences: which DCs may hold and ship a
controlled line to where the order goes."""

from collections.abc import Mapping
from typing import Any

from orderly.inventory import domain, queries, store
from orderly.inventory.errors import DcNotFound
from orderly.storage import Database, Row, Tx


async def qualified(
    tx: Tx, schedules: Mapping[str, str], ship_to_state: str | None
) -> dict[str, frozenset[str]]:
    """For each controlled product (id: DEA schedule), the DCs that may ship it to
    `ship_to_state`; products without a schedule are left out (any DC ships them)."""
    licences = [store.licence(row) for row in await tx.fetch_all(store.DCS, {})]
    return {
        product_id: domain.qualifying(licences, schedule, ship_to_state)
        for product_id, schedule in schedules.items()
        if schedule
    }


async def change_dc(
    db: Database,
    code: str,
    *,
    name: str | None = None,
    schedules: list[str] | None = None,
    states: list[str] | None = None,
    states_named: bool = False,
) -> dict[str, Any]:
    """An operator renames a DC or changes its registration or state licences (the fields
    named; `states_named` with `states` None: licensed for every state)."""
    wanted_schedules = None if schedules is None else domain.check_schedules(schedules)
    wanted_states = domain.check_states(states)

    async def work(tx: Tx) -> Row:
        row = await tx.fetch_one(store.DC, {"code": code})
        if row is None:
            raise DcNotFound(f"there is no distribution centre {code}")
        current = store.licence(row)
        params = {
            "code": code,
            "name": row["name"] if name is None else name,
            "dea_schedules": (
                sorted(current.schedules) if wanted_schedules is None else wanted_schedules
            ),
            "licensed_states": (
                wanted_states
                if states_named
                else (None if current.states is None else sorted(current.states))
            ),
        }
        await tx.execute(store.UPDATE_DC, params)
        changed = await tx.fetch_one(store.DC, {"code": code})
        assert changed is not None
        return changed

    return queries.dc_view(await db.transaction(work))
