"""The GraphQL schema in the repository (`docs/schema.graphql`, which the web app's types are
made from) is the code's: a change to one without the other fails here.
`ORDERLY_UPDATE_SNAPSHOTS=1` writes the code's, as `orderly graphql schema --out` does."""

import os
from pathlib import Path

from orderly.bff.graph_api import SCHEMA

EXPORTED = Path(__file__).parents[2] / "docs" / "schema.graphql"


def test_the_exported_schema_is_the_codes() -> None:
    code = str(SCHEMA) + "\n"
    if os.environ.get("ORDERLY_UPDATE_SNAPSHOTS") == "1":
        EXPORTED.write_text(code)
    assert EXPORTED.read_text() == code, "run `orderly graphql schema --out docs/schema.graphql`"
