"""SQLAlchemy Core statements compiled once per dialect and reused on every call."""

import re
from collections.abc import Collection, Mapping, Sequence
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

    __slots__ = ("_clause", "_compiled", "_dialects", "_sqlite")

    def __init__(
        self, clause: ClauseElement, dialects: Mapping[str, ClauseElement] | None = None
    ) -> None:
        self._clause = clause
        self._dialects = dict(dialects or {})  # a dialect whose SQL differs: its own clause
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._sqlite: str | None = None

    @property
    def sqlite(self) -> str:
        """The SQL text for SQLite, kept where a statement's every run finds it at once."""
        text = self._sqlite
        if text is None:
            text = self._sqlite = self.compiled("sqlite")[0]
        return text

    def compiled(self, dialect: str) -> tuple[str, tuple[str, ...]]:
        """The SQL text for `dialect` and, for positional dialects, the parameter names in order."""
        found = self._compiled.get(dialect)
        if found is None:
            clause = self._dialects.get(dialect, self._clause)
            compiled = clause.compile(dialect=_DIALECTS[dialect])
            names = tuple(getattr(compiled, "positiontup", None) or ())
            found = (compiled.string, names)
            self._compiled[dialect] = found
        return found

    def __repr__(self) -> str:
        return f"Statement({self.compiled('sqlite')[0]!r})"


# `IN :name` for a list of strings bound to one parameter, as each dialect reads a list:
# SQLite the JSON array its adapter writes, PostgreSQL a text array. One parameter however
# long the list, so that the statement is compiled once (an expanding bind would be compiled
# anew for each length).
_AMONG = {
    "sqlite": r"IN (SELECT value FROM json_each(:\1))",
    "postgresql": r"= ANY(CAST(:\1 AS text[]))",
}


def sql(source: str, *, lists: Collection[str] = ()) -> Statement:
    """A statement from portable SQL text with `:name` parameters. Each of `lists` is bound to
    a list of strings and tested as `column IN :name` (no parentheses; not `NOT IN`)."""
    if not lists:
        return Statement(text(source))
    among = re.compile(rf"(?<!NOT )\bIN :({'|'.join(map(re.escape, lists))})\b")
    assert {m.group(1) for m in among.finditer(source)} == set(lists), (source, lists)
    dialects = {name: text(among.sub(written, source)) for name, written in _AMONG.items()}
    return Statement(text(source), dialects)


def positional(names: Sequence[str], params: Mapping[str, Any] | None) -> list[Any]:
    if not names:
        return []
    if params is None:
        raise ValueError("statement takes parameters but none were given")
    return [params[name] for name in names]
