"""SQLAlchemy Core statements compiled once per dialect and reused on every call."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.sql.elements import ClauseElement

_DIALECTS = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    "postgresql": asyncpg.dialect(),  # type: ignore[no-untyped-call]
}


class Statement:
    """One SQL statement; its text for each dialect is compiled on first use and kept."""

    __slots__ = ("_clause", "_compiled")

    def __init__(self, clause: ClauseElement) -> None:
        self._clause = clause
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}

    def compiled(self, dialect: str) -> tuple[str, tuple[str, ...]]:
        """The SQL text for `dialect` and, for positional dialects, the parameter names in order."""
        found = self._compiled.get(dialect)
        if found is None:
            compiled = self._clause.compile(dialect=_DIALECTS[dialect])
            names = tuple(getattr(compiled, "positiontup", None) or ())
            found = (compiled.string, names)
            self._compiled[dialect] = found
        return found

    def __repr__(self) -> str:
        return f"Statement({self.compiled('sqlite')[0]!r})"


def sql(source: str) -> Statement:
    """A statement from portable SQL text with `:name` parameters."""
    return Statement(text(source))


def positional(names: Sequence[str], params: Mapping[str, Any] | None) -> list[Any]:
    if not names:
        return []
    if params is None:
        raise ValueError("statement takes parameters but none were given")
    return [params[name] for name in names]
