"""Rebuilding a projection from the history (`orderly projections rebuild NAME`).

The history is read in the order it was kept, into a new generation of the projection, while
the live generation keeps serving and moving. Then, in one transaction that holds the
projection (live events wait for it on PostgreSQL; SQLite has one writer), the events kept
since are folded in too, the new generation is compared with the live one, and takes its
place. The old generation is dropped afterwards, a slice at a time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orderly.history import domain, store
from orderly.history.domain import COUNTS, Facts, Key
from orderly.history.recording import ANALYTICS, ORDERS, PROJECTIONS, daily_params
from orderly.kernel.clock import utcnow
from orderly.storage import Database, Row, Tx

BATCH = 2_000

# Told how many of the events to read have been read: (read, of).
Progress = Callable[[int, int], None]


class UnknownProjection(ValueError):
    pass


@dataclass(frozen=True)
class Rebuilt:
    name: str
    generation: int  # the new live generation
    events: int  # the events read
    rows: int  # the rows the projection holds
    differences: int  # rows that differed from the live projection at the switch: 0 is right


class Replay:
    """The projection as the history builds it, in memory until it is written."""

    def __init__(self) -> None:
        self.facts: dict[str, Facts] = {}
        self.forgotten: set[str] = set()  # orders ordering removed: in the figures only
        self.daily: dict[Key, list[int]] = {}
        self.last = 0  # the highest sequence number read
        # numbers below `last` that no event read had: rolled back, or not yet committed
        self.gaps: list[int] = []

    def begin(self, rows: list[Row]) -> None:
        """Orders whose events retention removed start from their baselines."""
        for row in rows:
            self.move(Facts.of(row))
            if row["forgotten"]:
                self.forgotten.add(row["order_id"])

    def fold(self, order_id: str, kind: str, data: dict[str, Any], at: Any) -> None:
        before = self.facts.get(order_id) or Facts(order_id)
        self.move(domain.fold(before, kind, data, at))

    def move(self, after: Facts) -> None:
        before = self.facts.get(after.order_id) or Facts(after.order_id)
        self.facts[after.order_id] = after
        for key, counts in domain.changes(before, after).items():
            sums = self.daily.setdefault(key, [0] * len(COUNTS))
            for i, count in enumerate(counts):
                sums[i] += count

    def fold_rows(self, rows: list[Row]) -> set[str]:
        touched = set()
        for row in rows:
            seq = row["seq"]
            if seq > self.last:
                self.gaps.extend(range(self.last + 1, seq))
                self.last = seq
            if self.fold_row(row):
                touched.add(row["order_id"])
        return touched

    def fold_row(self, row: Row) -> bool:
        """Fold a kept event (its row of `order_events`) if it is one that changes facts."""
        if row["type"] not in domain.FOLDED:
            return False
        data = row["envelope"].get("data") or {}
        self.fold(row["order_id"], row["type"], data, row["occurred_at"])
        return True


async def rebuild(db: Database, name: str, progress: Progress | None = None) -> Rebuilt:
    if name not in PROJECTIONS:
        raise UnknownProjection(f"no projection {name!r}: {', '.join(PROJECTIONS)}")
    live = await db.read(lambda tx: tx.fetch_one(store.PROJECTION, {"name": name}))
    assert live is not None, "history's first migration names every projection"
    new = live["generation"] + 1
    await _drop(db, name, new)  # what an interrupted rebuild left
    upto: int = (await db.read(lambda tx: tx.fetch_one(store.LAST_SEQ)))["seq"]  # type: ignore[index]
    replay = Replay()
    params = {"after": "", "limit": BATCH}
    while rows := await db.read(lambda tx: tx.fetch_all(store.BASELINES_AFTER, params)):
        replay.begin(rows)
        params["after"] = rows[-1]["order_id"]
    after = read = 0
    while after < upto:
        rows = await _events(db, after, upto)
        if not rows:
            break
        replay.fold_rows(rows)
        after = rows[-1]["seq"]
        read += len(rows)
        if progress is not None:
            progress(read, upto)
    await _write(db, name, new, replay, set(replay.facts) - replay.forgotten, set(replay.daily))

    async def switch(tx: Tx) -> tuple[int, int]:
        await tx.fetch_one(store.PROJECTION_HELD, {"name": name})
        # the events kept since the replay's last read, and those committed since among the
        # numbers it read past, folded in as the live ones were
        late = await tx.fetch_all(
            store.EVENTS_AFTER, {"after": replay.last, "upto": 2**62, "limit": 2**31}
        )
        if replay.gaps:
            missed = await tx.fetch_all(store.EVENTS_AMONG, {"seqs": [str(n) for n in replay.gaps]})
            late = sorted([*missed, *late], key=lambda row: int(row["seq"]))
        before = {key: list(sums) for key, sums in replay.daily.items()}
        touched = replay.fold_rows(late) - replay.forgotten
        await _put(tx, name, new, replay, touched, _changed_keys(before, replay.daily))
        current = await tx.fetch_one(store.PROJECTION, {"name": name})
        assert current is not None
        differences = await _differences(tx, name, current["generation"], new)
        await tx.execute(store.SWITCH, {"name": name, "generation": new, "at": utcnow()})
        return len(late), differences

    late, differences = await db.transaction(switch)
    await _drop(db, name, live["generation"])
    if progress is not None:
        progress(read + late, upto + late)
    held = len(replay.facts) - len(replay.forgotten) if name == ORDERS else len(replay.daily)
    return Rebuilt(name, new, read + late, held, differences)


async def _events(db: Database, after: int, upto: int) -> list[Row]:
    async def work(tx: Tx) -> list[Row]:
        return await tx.fetch_all(
            store.EVENTS_AFTER, {"after": after, "upto": upto, "limit": BATCH}
        )

    return await db.read(work)


def _changed_keys(before: dict[Key, list[int]], after: dict[Key, list[int]]) -> set[Key]:
    return {key for key, sums in after.items() if before.get(key) != sums}


async def _write(
    db: Database, name: str, generation: int, replay: Replay, orders: set[str], keys: set[Key]
) -> None:
    """The replay's rows, a batch per transaction."""
    ids, ordered = sorted(orders), sorted(keys)
    for start in range(0, max(len(ids), len(ordered)), BATCH):
        some_orders = set(ids[start : start + BATCH]) if name == ORDERS else set()
        some_keys = set(ordered[start : start + BATCH]) if name == ANALYTICS else set()

        async def work(
            tx: Tx, some_orders: set[str] = some_orders, some_keys: set[Key] = some_keys
        ) -> None:
            await _put(tx, name, generation, replay, some_orders, some_keys)

        await db.transaction(work)


async def _put(
    tx: Tx, name: str, generation: int, replay: Replay, orders: set[str], keys: set[Key]
) -> None:
    if name == ORDERS and orders:
        rows = [{"generation": generation, **replay.facts[o].row()} for o in sorted(orders)]
        await tx.execute_many(store.PUT_VIEW, rows)
    elif name == ANALYTICS and keys:
        rows = [daily_params(generation, k, tuple(replay.daily[k])) for k in sorted(keys)]
        await tx.execute_many(store.PUT_DAILY, rows)


async def _differences(tx: Tx, name: str, live: int, new: int) -> int:
    stmt = store.VIEW_DIFFERENCES if name == ORDERS else store.DAILY_DIFFERENCES
    total = 0
    for a, b in ((live, new), (new, live)):
        row = await tx.fetch_one(stmt, {"a": a, "b": b})
        total += int(row["n"]) if row else 0
    return total


async def _drop(db: Database, name: str, generation: int) -> None:
    if name == ANALYTICS:
        await db.transaction(lambda tx: tx.execute(store.DROP_DAILY, {"generation": generation}))
        return

    async def slice_off(tx: Tx) -> int:
        return await tx.execute(store.DROP_VIEW_SLICE, {"generation": generation, "limit": BATCH})

    while await db.transaction(slice_off):
        pass


async def status(db: Database) -> list[dict[str, Any]]:
    """Each projection: its live generation, when it was last rebuilt, its rows."""

    async def work(tx: Tx) -> list[dict[str, Any]]:
        found = []
        for name in PROJECTIONS:
            row = await tx.fetch_one(store.PROJECTION, {"name": name})
            assert row is not None
            found.append(
                {
                    "name": name,
                    "generation": row["generation"],
                    "rebuilt_at": row["rebuilt_at"],
                }
            )
        return found

    return await db.read(work)
