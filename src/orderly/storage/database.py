"""The database port every context's store is written against."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from orderly.kernel.errors import Unavailable
from orderly.storage.statements import Statement

T = TypeVar("T")
Row = Mapping[str, Any]
Params = Mapping[str, Any]


class StorageUnavailable(Unavailable):
    """The database cannot be reached; nothing was written. Safe to try again."""

    code = "database_unavailable"
    title = "Database unavailable"


class Tx(Protocol):
    """A transaction: statements run in it commit together or not at all."""

    wrote_outbox: bool
    dialect: str  # "sqlite" or "postgresql", for the rare statement one of them does better

    async def execute(self, stmt: Statement, params: Params | None = None) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def execute_many(self, stmt: Statement, rows: Sequence[Params]) -> None: ...

    async def fetch_one(self, stmt: Statement, params: Params | None = None) -> Row | None: ...

    async def fetch_all(self, stmt: Statement, params: Params | None = None) -> list[Row]: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed, and never if it does not (a
        unit of work run again calls it for the run that committed only): how a figure is
        counted where its change is made, exactly once."""
        ...


Work = Callable[[Tx], Awaitable[T]]


class Database(Protocol):
    """One context's database."""

    name: str
    dialect: str

    async def transaction(self, work: Work[T]) -> T:
        """Run `work` in a write transaction; return its result once it is durably committed.

        `work` touches only this database and has no effect outside it: it must not wait on
        the network, since on SQLite it shares a commit with other units of work, and it may
        run more than once (its effects rolled back in between) when a unit it shares a commit
        with fails.
        """
        ...

    async def read(self, work: Work[T]) -> T:
        """Run `work` on a consistent read-only snapshot."""
        ...

    async def autocommit(self, work: Work[T]) -> T:
        """Run `work` with each statement atomic and committed on its own, for work that
        writes in one statement at most. On PostgreSQL that saves the BEGIN and COMMIT round
        trips of `transaction` (whose statements see no common snapshot either, at the
        default isolation level); on SQLite it is `transaction`."""
        ...

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit that wrote to the outbox."""
        ...

    def version(self) -> int | None:
        """A number that changes whenever a change is committed to the database, by this
        process or another; None where that is not known cheaply (PostgreSQL). What was read
        after it was asked stays true while it stays the same."""
        ...

    async def close(self) -> None: ...
