"""Every message a context declares, as JSON Schema, against the copy kept beside this test.

A change to a message's fields changes the schema, so it shows as a diff in review; an
incompatible one should also raise the message's `VERSION`. To accept a change, run this
module with `ORDERLY_UPDATE_SNAPSHOTS=1` and commit the file it rewrites."""

import importlib
import os
from pathlib import Path
from typing import Any

import msgspec
import orjson

from orderly.config import ALL_CONTEXTS
from orderly.messaging import Message
from orderly.ordering.messages import OrderCreated, OrderLine
from tests.messages import order_created

SNAPSHOT = Path(__file__).with_name("message_schemas.json")


def declared() -> list[type[Message]]:
    kinds: list[type[Message]] = []
    for context in ALL_CONTEXTS:
        kinds += importlib.import_module(f"orderly.{context}.messages").MESSAGES
    return sorted(kinds, key=lambda kind: kind.TYPE)


def schemas() -> dict[str, Any]:
    kinds = declared()
    (refs, components) = msgspec.json.schema_components(kinds)
    return {
        "messages": {
            kind.TYPE: {"version": kind.VERSION, "data": ref}
            for kind, ref in zip(kinds, refs, strict=True)
        },
        "components": components,
    }


def test_every_message_type_is_declared_once() -> None:
    types = [kind.TYPE for kind in declared()]
    assert len(types) == len(set(types))


def test_the_message_schemas_are_the_ones_kept_in_the_repository() -> None:
    now = orjson.dumps(schemas(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if os.environ.get("ORDERLY_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_bytes(now)
    assert SNAPSHOT.exists(), f"no {SNAPSHOT.name}: run with ORDERLY_UPDATE_SNAPSHOTS=1"
    assert orjson.loads(SNAPSHOT.read_bytes()) == orjson.loads(now)


def test_a_message_reads_back_as_its_publisher_declared_it() -> None:
    for kind in declared():
        schema = msgspec.json.schema(kind)
        assert schema, kind
    sent = order_created("o-1", [OrderLine(product_id="p-1", quantity=2)], held=True)
    read = sent.read(OrderCreated)
    assert (read.order_id, read.items[0].product_id, read.held) == ("o-1", "p-1", True)
    assert sent.schema_version == OrderCreated.VERSION == 2
