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


PREFERENCES = "/api/v1/notifications/preferences"


async def test_a_customer_turns_its_optional_mails_off_and_on(server: Server) -> None:
    async with server.client(server.register_customer()["token"]) as customer:
        # every optional mail is on until turned off
        answer = await customer.get(PREFERENCES)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"shipped": True, "delivered": True}

        turned = await customer.put(PREFERENCES, json={"shipped": False, "delivered": True})
        assert turned.status_code == 200, turned.text
        assert turned.json() == {"shipped": False, "delivered": True}
        assert (await customer.get(PREFERENCES)).json() == {"shipped": False, "delivered": True}

        # a PUT sets them all: one left out is on
        again = await customer.put(PREFERENCES, json={"delivered": False})
        assert again.json() == {"shipped": True, "delivered": False}
        assert (await customer.get(PREFERENCES)).json() == {"shipped": True, "delivered": False}


async def test_preferences_are_the_callers_own(server: Server) -> None:
    async with (
        server.client(server.register_customer()["token"]) as one,
        server.client(server.register_customer()["token"]) as other,
    ):
        assert (await one.put(PREFERENCES, json={"shipped": False})).status_code == 200
        assert (await other.get(PREFERENCES)).json() == {"shipped": True, "delivered": True}
        assert (await one.get(PREFERENCES)).json() == {"shipped": False, "delivered": True}


async def test_preferences_need_a_token(server: Server) -> None:
    async with server.client() as nobody:
        for answer in (
            await nobody.get(PREFERENCES),
            await nobody.put(PREFERENCES, json={"shipped": False}),
        ):
            assert answer.status_code == 401
            assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"shipped": False, "newsletter": False},
        {"confirmed": False},
        {"shipped": "no"},
        {"shipped": 0},
        {"delivered": None},
        [False],
    ],
    ids=["unknown-key", "mandatory-mail", "string", "number", "null", "not-an-object"],
)
async def test_bad_preferences_are_refused_and_change_nothing(server: Server, body: object) -> None:
    async with server.client(server.register_customer()["token"]) as customer:
        assert (await customer.put(PREFERENCES, json={"shipped": False})).status_code == 200

        answer = await customer.put(PREFERENCES, json=body)

        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "validation_failed"
        assert (await customer.get(PREFERENCES)).json() == {"shipped": False, "delivered": True}
