"""Revocation is pushed: every service stops honouring a token soon after identity ends it.

Services keep what they learnt about a session for SESSION_CACHE_SECONDS (30 s); the deadline
here is a third of that, so only the pushed `session.revoked` / `user.disabled` can pass it.
"""

from orderly.identity.authenticator import SESSION_CACHE_SECONDS
from tests.e2e.conftest import Deployment
from tests.waiting import eventually

WITHIN = SESSION_CACHE_SECONDS / 3


async def refused_everywhere(deployment: Deployment, token: str) -> bool:
    statuses = []
    for server, path in (
        (deployment.ordering, "/api/v1/orders"),
        (deployment.fulfillment, "/api/v1/shipments"),
        (deployment.catalog, "/api/v1/products"),
    ):
        async with server.client(token) as client:
            statuses.append((await client.get(path)).status_code)
    return statuses == [401, 401, 401]


async def honoured_everywhere(deployment: Deployment, token: str) -> None:
    for server, path in (
        (deployment.ordering, "/api/v1/orders"),
        (deployment.fulfillment, "/api/v1/shipments"),
        (deployment.catalog, "/api/v1/products"),
    ):
        async with server.client(token) as client:
            assert (await client.get(path)).status_code == 200, server.url


async def test_logout_and_disabling_reach_every_service(deployment: Deployment) -> None:
    # given two customers whose tokens every service has already seen (and cached)
    leaving = deployment.customer()
    disabled = deployment.customer()
    for customer in (leaving, disabled):
        await honoured_everywhere(deployment, customer["token"])

    # when one logs out and an operator disables the other
    async with deployment.identity.client(leaving["token"]) as client:
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
    async with deployment.identity.client(deployment.operator_token) as operator:
        answer = await operator.post(f"/api/v1/users/{disabled['userId']}/disable")
        assert answer.status_code == 200

    # then the process that ended them refuses them at once
    for customer in (leaving, disabled):
        async with deployment.identity.client(customer["token"]) as client:
            assert (await client.get("/api/v1/auth/session")).status_code == 401
    # and no other service honours either, well before a cached session would lapse
    for customer in (leaving, disabled):
        token = customer["token"]
        await eventually(lambda token=token: refused_everywhere(deployment, token), WITHIN)
