"""Ids named by their first characters, as the CLI's `show` and `replay` take them."""

from collections.abc import Iterable

from orderly.storage import Database, Statement, sql

# Enough candidates to show an operator why a prefix is ambiguous.
SHOWN = 10

# substr, not LIKE: case-sensitive on both databases, and no wildcard to escape
SAGAS = sql("SELECT id FROM sagas WHERE substr(id, 1, :length) = :prefix ORDER BY id LIMIT :limit")
DEAD_LETTERS = sql(
    "SELECT id FROM dead_letters WHERE substr(id, 1, :length) = :prefix ORDER BY id LIMIT :limit"
)


class PrefixError(Exception):
    """No id, or more than one, starts with the prefix given."""


async def ids_starting_with(
    databases: Iterable[Database], table: Statement, prefix: str
) -> list[str]:
    """Up to SHOWN + 1 ids that start with `prefix`, over `databases`, sorted."""
    params = {"prefix": prefix, "length": len(prefix), "limit": SHOWN + 1}
    found: set[str] = set()
    for db in databases:
        rows = await db.read(lambda tx: tx.fetch_all(table, params))
        found.update(str(row["id"]) for row in rows)
    return sorted(found)[: SHOWN + 1]


def the_one(what: str, prefix: str, candidates: list[str]) -> str:
    """The id `prefix` names: the one id it is, or the only id it starts."""
    if not prefix:
        raise PrefixError(f"name a {what} by its id or the first characters of it")
    if prefix in candidates:
        return prefix
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise PrefixError(f"no {what} id starts with {prefix!r}")
    listed = "\n".join(f"  {c}" for c in candidates[:SHOWN])
    more = "\n  …" if len(candidates) > SHOWN else ""
    raise PrefixError(f"{prefix!r} starts more than one {what} id:\n{listed}{more}")
