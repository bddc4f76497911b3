"""Batch reads: many things by id in one request, answered in the order the ids were asked."""

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

# The most ids one batch read takes (`?id=A&id=B…`): a page of a client's screen, not a dump.
MAX_BATCH = 100


def distinct(ids: Iterable[str]) -> list[str]:
    """The ids asked, each once, in the order first asked."""
    return list(dict.fromkeys(ids))


def in_order_asked(ids: Sequence[str], found: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """What was `found` for `ids`, in the order the ids were asked (each id once): a stable
    sort, so several things of one id keep the order they were found in."""
    place = {id_: n for n, id_ in enumerate(distinct(ids))}
    return sorted((thing for thing in found if key(thing) in place), key=lambda t: place[key(t)])
