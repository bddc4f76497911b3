"""The port ordering asks before a B2B member orders: what the identity store says now.

A token's claims are hints from when it was issued. Whether the caller still belongs to
the account, may still buy for it, and what the account's DEA registration allows are read
from identity at the moment an order is placed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import httpx

from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound, OrderlyError, Unavailable
from orderly.kernel.principal import Principal
from orderly.ordering import controlled, products
from orderly.ordering.controlled import Registration
from orderly.storage import Database
from orderly.web.clients import service_client


@dataclass(frozen=True)
class Standing:
    """A caller's membership and its account's standing, as identity has them now."""

    account: str | None
    roles: tuple[str, ...]
    disabled: bool = False
    dea_active: bool = False
    can_order_schedule_ii: bool = False
    is_340b: bool = False
    # the account's DEA registration; None for a caller without an account
    registration: Registration | None = None
    # orders above this total need an approver; None: no order does
    approval_threshold: Decimal | None = None
    # whether identity keeps the user (one an external issuer vouches for it may not)
    known: bool = True

    @classmethod
    def of(cls, caller: Principal, user: dict[str, Any] | None) -> "Standing":
        """From identity's user view; a user identity does not keep (an external issuer's)
        is what its token says."""
        if user is None:
            return cls(account=caller.account, roles=caller.roles, known=False)
        return cls(
            account=user["organisationId"], roles=tuple(user["roles"]), disabled=user["disabled"]
        )

    def with_account(self, account: dict[str, Any] | None) -> "Standing":
        if account is None:
            return Standing(
                account=None, roles=self.roles, disabled=self.disabled, known=self.known
            )
        return Standing(
            account=self.account,
            roles=self.roles,
            disabled=self.disabled,
            known=self.known,
            dea_active=account["deaActive"],
            can_order_schedule_ii=account["canOrderScheduleII"],
            is_340b=account["id340b"] is not None,
            registration=_registration(account),
            approval_threshold=_amount(account.get("approvalThreshold")),
        )


def _amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _registration(account: dict[str, Any]) -> Registration:
    expires = account.get("deaExpiresOn")
    return Registration(
        schedules=frozenset(account.get("deaSchedules") or ()),
        expires_on=date.fromisoformat(expires) if expires else None,
        active=bool(account["deaActive"]),
        schedule_ii=bool(account["canOrderScheduleII"]),
    )


class AccountStanding(Protocol):
    async def of(self, caller: Principal) -> Standing: ...

    async def close(self) -> None: ...


class HttpStanding:
    """Identity as its own service: the caller's user and account, asked with its own token."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._client = service_client(base_url, timeout)

    async def of(self, caller: Principal) -> Standing:
        user = await self._get(f"/api/v1/users/{caller.user_id}", caller)
        standing = Standing.of(caller, user)
        if standing.account is None:
            return standing
        return standing.with_account(
            await self._get(f"/api/v1/accounts/{standing.account}", caller)
        )

    async def _get(self, path: str, caller: Principal) -> dict[str, Any] | None:
        try:
            response = await self._client.get(
                path, headers={"Authorization": f"Bearer {caller.token}"}
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"identity is unreachable ({type(error).__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unavailable(f"identity answered {response.status_code}")
        found: dict[str, Any] = response.json()
        return found

    async def close(self) -> None:
        await self._client.aclose()


class NotABuyer(OrderlyError):
    status = 403
    code = "not_a_buyer"
    title = "Only the account's buyers place its orders"


async def check_controlled(
    db: Database,
    standing: AccountStanding | None,
    catalog: products.ProductSource | None,
    caller: Principal,
    product_ids: Sequence[str],
) -> None:
    """Refuse (`controlled_substance_not_allowed`) products with a DEA schedule that the
    caller's account registration, as identity has it now, does not cover; a caller without
    an account has none. Identity is asked only when a product is scheduled."""
    schedules = await products.asking_catalog(
        db, catalog, product_ids, caller.token, lambda: products.schedules(db, product_ids)
    )
    if not any(schedules.values()):
        return
    registration = None
    if caller.account is not None:
        if standing is None:
            raise Unavailable("identity is not configured for this process")
        registration = (await standing.of(caller)).registration
    controlled.check(schedules, registration, utcnow().date())


class CustomerNotFound(NotFound):
    code = "user_not_found"
    title = "No such user"


async def on_behalf(
    standing: AccountStanding | None, operator: Principal, user_id: str
) -> Principal:
    """The user an operator places an order for, as identity has it now (its roles, its
    account), acting under the operator's session and token: the order is the user's, with
    the user's prices, flows and account rules."""
    if standing is None:
        raise Unavailable("identity is not configured for this process")
    probe = Principal(
        user_id=user_id, session_id=operator.session_id, roles=(), token=operator.token
    )
    found = await standing.of(probe)
    if not found.known or found.disabled:
        raise CustomerNotFound(f"user {user_id} does not exist", user_id=user_id)
    return replace(probe, roles=found.roles, account=found.account, expires_at=operator.expires_at)
