"""test_openapi_conformance.py's runs through every operation of the document, with an
operator's token: every route an operator may call answers as the document says."""

import pytest

from tests.e2e.test_openapi_conformance import (  # noqa: F401  (fixtures and tests reused)
    Api,
    api,
    api_schema,
    test_every_operation_keeps_its_description,
    test_linked_operations_keep_their_description,
)


@pytest.fixture
def token(api: Api) -> str:  # noqa: F811
    return api.tokens["operator"]
