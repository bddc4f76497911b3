"""What a BFF sends on to a context with a command: the caller's own token, the idempotency
key, and the client's address as the BFF saw it; never a header the client chose to vouch
for itself (its X-Forwarded-For, another token)."""

from collections.abc import Mapping
from typing import Any

from orderly.bff.calls import Calls
from orderly.bff.port import Forwarded
from orderly.bff.remote import HttpContexts, Params
from orderly.kernel.principal import Principal


class RecordingExchange:
    """The HTTP boundary: records each request, answers 201 with an empty object."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(
        self,
        context: str,
        method: str,
        path: str,
        params: Params,
        body: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes, Mapping[str, str]]:
        self.sent.append({"context": context, "path": path, "headers": dict(headers)})
        return 201, b"{}", {}

    async def close(self) -> None:
        return None


async def test_a_command_carries_the_callers_token_its_key_and_the_address_the_bff_saw() -> None:
    exchange = RecordingExchange()
    contexts = HttpContexts(exchange, Calls(timeout=1.0))
    caller = Principal("user-1", "session-1", (), token="the-callers-token")
    chosen_by_the_client = {
        "X-Forwarded-For": "203.0.113.66",
        "Authorization": "Bearer someone-elses-token",
        "Idempotency-Key": "key-1",
        "Cookie": "session=abc",
    }
    sent = Forwarded("POST", "/api/v1/orders", {}, chosen_by_the_client, client="198.51.100.7")
    answer = await contexts.send("ordering", caller, sent)
    assert answer.status == 201
    [request] = exchange.sent
    assert request["headers"] == {
        "Idempotency-Key": "key-1",
        "Authorization": "Bearer the-callers-token",
        "x-forwarded-for": "198.51.100.7",
    }


async def test_without_an_address_none_is_vouched_for() -> None:
    exchange = RecordingExchange()
    contexts = HttpContexts(exchange, Calls(timeout=1.0))
    sent = Forwarded("POST", "/api/v1/auth/register", {}, {"X-Forwarded-For": "203.0.113.66"})
    await contexts.send("identity", None, sent)
    assert exchange.sent[0]["headers"] == {}
