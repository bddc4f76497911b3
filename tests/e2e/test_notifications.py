"""The mail log over HTTP: operators read it; to anyone else it does not exist."""

from collections.abc import Iterator

import pytest

from tests.e2e.server import Server, embedded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("notifications")) as running:
        yield running


async def test_only_operators_read_the_mail_log(server: Server) -> None:
    async with server.client(server.login()) as operator:
        answer = await operator.get("/api/v1/notifications/mails", params={"order_id": "o-none"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == []
        latest = await operator.get("/api/v1/notifications/mails", params={"limit": 10})
        assert latest.status_code == 200, latest.text
        assert isinstance(latest.json(), list)
        too_many = await operator.get("/api/v1/notifications/mails", params={"limit": 501})
        assert too_many.status_code == 422

    async with server.client(server.register_customer()["token"]) as customer:
        hidden = await customer.get("/api/v1/notifications/mails")
        assert hidden.status_code == 404
    async with server.client() as nobody:
        assert (await nobody.get("/api/v1/notifications/mails")).status_code == 401
