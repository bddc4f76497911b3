"""Throttling under attack: no one locks a user out of where it signs in, bursts learn no more
than the limits allow, and registration neither floods nor tells which e-mails have accounts.

Clients connect from distinct loopback addresses (127.0.0.x), which the server sees as
`request.client.host`, so one server plays victims and attackers at once."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend, needs_services
from tests.e2e.server import OPERATOR_EMAIL, OPERATOR_PASSWORD, Server, embedded

PASSWORD = "victim password 77"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with embedded(tmp_path_factory.mktemp("throttling")) as running:
        yield running


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Three registrations per address per hour."""
    with embedded(tmp_path_factory.mktemp("strict"), ORDERLY_REGISTRATION_LIMIT="3") as running:
        yield running


def at(server: Server, address: str) -> httpx.Client:
    """A client whose connections come from `address`."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=30)


def at_async(server: Server, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.url, transport=transport, timeout=60)


def new_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def registration(email: str, password: str = PASSWORD) -> dict[str, str]:
    return {"email": email, "password": password, "firstName": "Vic", "lastName": "Tim"}


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> int:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code


def test_the_operator_logs_in_from_its_address_after_thirty_failures_there_for_others(
    server: Server,
) -> None:
    with at(server, "127.0.0.20") as office:
        assert login(office, OPERATOR_EMAIL, OPERATOR_PASSWORD) == 200
        stuffed = [login(office, new_email("stuffed"), "a leaked password") for _ in range(31)]
        # credential stuffing from the address is stopped...
        assert stuffed == [401] * 30 + [429]
        # ...for e-mails that never signed in from here, even with the right password
        newcomer = new_email("newcomer")
        assert office.post(REGISTER, json=registration(newcomer)).is_success
        assert login(office, newcomer) == 429
        # but the operator, who signed in from here before, still does
        assert login(office, OPERATOR_EMAIL, OPERATOR_PASSWORD) == 200


def test_a_victim_logs_in_from_its_address_while_its_email_is_guessed_elsewhere(
    server: Server,
) -> None:
    victim = new_email("victim")
    with at(server, "127.0.0.30") as home:
        assert home.post(REGISTER, json=registration(victim)).is_success
        assert login(home, victim) == 200
    # distributed guessing: four addresses, five wrong passwords each, then the pair is shut
    for n in range(31, 35):
        with at(server, f"127.0.0.{n}") as bot:
            guesses = [login(bot, victim, f"guess {n} {i} xyz") for i in range(6)]
            assert guesses == [401] * 5 + [429]
    # twenty failures: a new address is refused at once, even with the right password
    with at(server, "127.0.0.35") as bot:
        refused = bot.post(LOGIN, json={"email": victim, "password": PASSWORD})
        assert refused.status_code == 429
        assert refused.json()["code"] == "too_many_attempts"
        assert 1 <= int(refused.headers["retry-after"]) <= 301
    with at(server, "127.0.0.30") as home:
        assert login(home, victim) == 200
        # the pair rule still holds at the victim's address: five guesses, no more
        assert [login(home, victim, f"guess at home {i}") for i in range(6)] == [401] * 5 + [429]
        assert login(home, victim) == 429


async def test_guesses_sent_together_get_no_more_answers_than_the_limit(server: Server) -> None:
    email = new_email("burst")
    with at(server, "127.0.0.40") as bot:
        assert bot.post(REGISTER, json=registration(email)).is_success
    async with at_async(server, "127.0.0.40") as bot:
        answers = await asyncio.gather(
            *(
                bot.post(LOGIN, json={"email": email, "password": f"guess {i} xyz"})
                for i in range(20)
            )
        )
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {401, 429}
        assert statuses.count(401) <= 5, statuses
        after = await bot.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert after.status_code == 429


def test_registrations_from_one_address_are_limited(strict: Server) -> None:
    emails = [new_email("signup") for _ in range(4)]
    with at(strict, "127.0.0.50") as one:
        answers = [one.post(REGISTER, json=registration(email)) for email in emails]
    assert [answer.status_code for answer in answers[:3]] == [202] * 3
    refused = answers[3]
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "too_many_registrations"
    assert 1 <= int(refused.headers["retry-after"]) <= 3601
    with at(strict, "127.0.0.51") as other:
        # the refused registration made no account
        assert login(other, emails[3]) == 401
        assert login(other, emails[0]) == 200
        # another address registers
        assert other.post(REGISTER, json=registration(new_email("signup"))).status_code == 202


async def test_registrations_sent_together_are_limited_too(strict: Server) -> None:
    async with at_async(strict, "127.0.0.52") as bot:
        answers = await asyncio.gather(
            *(bot.post(REGISTER, json=registration(new_email("flood"))) for _ in range(12))
        )
    statuses = [answer.status_code for answer in answers]
    # exactly the limit: none beyond it, and the burst does not shut out the first three
    assert sorted(statuses) == [202] * 3 + [429] * 9, statuses


def test_registering_a_taken_email_answers_like_a_new_one(server: Server) -> None:
    with at(server, "127.0.0.60") as client:
        taken = new_email("taken")
        first = client.post(REGISTER, json=registration(taken))
        again = client.post(REGISTER, json=registration(taken.upper(), "another password 8"))
        fresh_email = new_email("fresh")
        fresh = client.post(REGISTER, json=registration(fresh_email))
        for answer, email in ((first, taken), (again, taken), (fresh, fresh_email)):
            assert answer.status_code == 202
            assert answer.headers["content-type"] == "application/json"
            assert answer.json() == {"email": email, "status": "accepted"}
        # the taken e-mail's account is untouched; the new one logs in
        assert login(client, taken, "another password 8") == 401
        assert login(client, taken) == 200
        assert login(client, fresh_email) == 200
        # both cases hash the password: neither answers markedly faster (medians, interleaved)
        taken_times: list[float] = []
        fresh_times: list[float] = []
        for _ in range(7):
            for sample, email in ((taken_times, taken), (fresh_times, new_email("fresh"))):
                started = time.perf_counter()
                assert client.post(REGISTER, json=registration(email)).status_code == 202
                sample.append(time.perf_counter() - started)
    ratio = sorted(taken_times)[3] / sorted(fresh_times)[3]
    assert 0.5 < ratio < 2.0, f"median taken/new registration time {ratio:.2f}"


@needs_services
@pytest.mark.distributed
async def test_two_processes_on_postgresql_count_together(
    distributed_backend: Backend, tmp_path: Path
) -> None:
    env = {**distributed_backend.env(), "ORDERLY_REGISTRATION_LIMIT": "2"}
    first = Server(env, tmp_path, contexts="identity")
    second = Server(env, tmp_path, contexts="identity")
    try:
        for process in (first, second):  # one after the other: the first one migrates
            process.start().wait_ready()
        victim = new_email("victim")
        with at(first, "127.0.0.70") as one, at(second, "127.0.0.70") as two:
            assert one.post(REGISTER, json=registration(victim)).status_code == 202
            assert two.post(REGISTER, json=registration(new_email("x"))).status_code == 202
            assert one.post(REGISTER, json=registration(new_email("y"))).status_code == 429
            assert login(two, victim) == 200
        # registrations sent together to both processes: exactly the limit gets through
        async with at_async(first, "127.0.0.77") as a, at_async(second, "127.0.0.77") as b:
            signups = await asyncio.gather(
                *(
                    (a, b)[i % 2].post(REGISTER, json=registration(new_email("z")))
                    for i in range(10)
                )
            )
        assert sorted(s.status_code for s in signups) == [202] * 2 + [429] * 8
        # a burst split between the processes: five answers at most
        async with at_async(first, "127.0.0.71") as a, at_async(second, "127.0.0.71") as b:
            answers = await asyncio.gather(
                *(
                    (a, b)[i % 2].post(LOGIN, json={"email": victim, "password": f"guess {i} x"})
                    for i in range(12)
                )
            )
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {401, 429}
        assert statuses.count(401) <= 5, statuses
        # guessed at from more addresses: a new one is refused, the victim's own is not
        for n in range(72, 76):
            with at((first, second)[n % 2], f"127.0.0.{n}") as bot:
                for i in range(5):
                    login(bot, victim, f"guess {n} {i} x")
        with at(second, "127.0.0.79") as bot:
            assert login(bot, victim) == 429
        with at(first, "127.0.0.70") as home:
            assert login(home, victim) == 200
    finally:
        for process in (first, second):
            process.stop()
