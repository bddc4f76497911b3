"""What the B2B checkout's tests share: a deployment beside a simulated ERP and a real SMTP
server, pharmacies with their members logged in with MFA, products, and reading an order's
saga, locks, reservations and compliance decisions as the pharmacy and operators see them."""

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from aiosmtpd.controller import Controller

from tests.e2e.conftest import Deployment, shared_deployment
from tests.e2e.server import free_port, stocked
from tests.e2e.test_accounts import PASSWORD, enrolled
from tests.e2e.totp import Authenticator
from tests.erp_sim import Simulator, running_simulator
from tests.services import unique
from tests.waiting import eventually

# The pharmacy's registered location: its controlled orders ship there only.
REGISTERED = {
    "line1": "1 Main St",
    "city": "Harrisburg",
    "state": "PA",
    "postal_code": "17101",
    "country": "US",
}
DEA_NUMBER = "AP5836727"
TERMINAL = {"CONFIRMED", "FAILED", "CANCELLED"}


@dataclass(frozen=True)
class Mail:
    to: list[str]
    subject: str
    body: str


class _Collect:
    def __init__(self, box: "Mailbox") -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=default)
        part = parsed.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        self.box.received.append(Mail(list(envelope.rcpt_tos), str(parsed["Subject"]), body))
        return "250 OK"


class Mailbox:
    """A real SMTP server (aiosmtpd, in a thread of its own) and the mails it received."""

    def __init__(self) -> None:
        self.received: list[Mail] = []
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def arrived(self, *words: str, to: str | None = None) -> Mail:
        """The first mail whose subject and body hold every one of `words`."""

        async def find() -> Mail | None:
            for mail in list(self.received):
                text = f"{mail.subject}\n{mail.body}"
                if all(w in text for w in words) and (to is None or to in mail.to):
                    return mail
            return None

        return await eventually(find, within=30)


@contextmanager
def running_smtp() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


@dataclass
class World:
    deployed: Deployment
    erp: Simulator
    mail: Mailbox

    @property
    def operator(self) -> str:
        return self.deployed.operator_token

    def ops(self, server: Any) -> httpx.AsyncClient:
        client: httpx.AsyncClient = server.client(self.operator)
        return client


@contextmanager
def b2b_world(kind: str, tmp: Path, **settings: str) -> Iterator[World]:
    """A deployment of `kind` whose ERP is a simulator and whose mail goes to a real SMTP
    server; the ERP's calls time out after a second, retried once, so failures come fast."""
    with running_simulator(tmp) as erp, running_smtp() as mail:
        env = {
            "ORDERLY_ERP_URL": erp.url,
            "ORDERLY_ERP_TIMEOUT": "1",
            "ORDERLY_ERP_RETRIES": "1",
            "ORDERLY_SMTP_URL": mail.url,
            "ORDERLY_SAGA_STEP_TIMEOUT": "10",
            "ORDERLY_SAGA_STEP_RETRIES": "1",
            **settings,
        }
        with shared_deployment(kind, tmp, **env) as deployed:
            yield World(deployed, erp, mail)


@dataclass
class Pharmacy:
    account_id: str
    buyer: httpx.AsyncClient  # the account's admin, also a buyer, logged in with MFA
    buyer_id: str
    admin_token: str
    # its admin's e-mail and authenticator app, to sign in again (in a browser, say)
    email: str = ""
    app: Authenticator | None = None


def pharmacy(world: World, *registration: str) -> Pharmacy:
    """A pharmacy registered at `REGISTERED` (licensed in PA), its admin logged in with MFA."""
    identity = world.deployed.identity
    account_id = f"PH-{random.randrange(10_000, 100_000)}"
    email = f"buyer-{uuid.uuid4().hex[:8]}@pharmacy.example"
    created = identity.cli(
        *("accounts", "create", "--id", account_id, "--name", "Main Street Pharmacy"),
        *("--dea", DEA_NUMBER, "--dea-expires", "2099-12-31", "--state-licence", "PA-1"),
        *("--dea-schedules", "2,2N,3,3N,4,5", "--schedule-ii"),
        *("--registered-address", orjson.dumps(REGISTERED).decode()),
        *("--licence-state", "PA", "--licence-expires", "2099-12-31"),
        *("--admin-email", email, "--admin-password", PASSWORD),
        *registration,
    )
    assert created.returncode == 0, created.stderr
    tokens, app = enrolled(identity, email)
    token = tokens["token"]
    buyer = world.deployed.ordering.client(token)
    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    return Pharmacy(account_id, buyer, user_id, token, email, app)


async def member(world: World, pharmacy: Pharmacy, *roles: str) -> httpx.AsyncClient:
    """Another member of the pharmacy with `roles`, logged in with MFA, talking to ordering."""
    identity = world.deployed.identity
    email = f"member-{uuid.uuid4().hex[:8]}@pharmacy.example"
    admin = identity.client(pharmacy.admin_token)
    body = {
        "email": email,
        "password": PASSWORD,
        "firstName": "Pat",
        "lastName": "Approver",
        "roles": list(roles),
    }
    added = await admin.post(f"/api/v1/accounts/{pharmacy.account_id}/users", json=body)
    assert added.status_code == 201, added.text
    client: httpx.AsyncClient = world.deployed.ordering.client(
        enrolled(identity, email)[0]["token"]
    )
    return client


async def product(
    world: World, *, price: str = "10.00", stock: int = 500, schedule: str | None = None
) -> str:
    """A product in stock at MAIN; compliance, told of it, knows it before it is returned."""
    deployed = world.deployed
    body: dict[str, Any] = {
        "name": f"{'Oxycodone' if schedule else 'Atorvastatin'} {unique('mg')}",
        "sku": unique("B2B"),
        "price": price,
        "stock": stock,
        "pack_size": "100 TABLET in 1 BOTTLE",
    }
    if schedule:
        body["dea_schedule"] = schedule
    created = await world.ops(deployed.catalog).post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    await stocked(world.ops(deployed.inventory), product_id, stock)
    compliance = world.ops(deployed.compliance)

    async def known() -> bool:  # compliance copies it from catalog's product.created
        answer = await compliance.get(f"/api/v1/compliance/products/{product_id}")
        return answer.status_code == 200

    await eventually(known)
    return product_id


async def order(pharmacy: Pharmacy, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    """`POST /api/v1/orders` with no channel (b2b is an account member's): 202, PENDING."""
    body = {
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "shipping_address": extra.pop("shipping_address", REGISTERED),
        **extra,
    }
    placed = await pharmacy.buyer.post("/api/v1/orders", json=body)
    assert placed.status_code == 202, placed.text
    answer: dict[str, Any] = placed.json()
    assert (answer["status"], answer["channel"]) == ("PENDING", "b2b")
    return answer


async def settled(client: httpx.AsyncClient, order_id: str, *words: str) -> dict[str, Any]:
    """The order once its status is one of `words` (by default, one that ends its checkout)."""
    wanted = set(words) or TERMINAL

    async def read() -> dict[str, Any] | None:
        found: dict[str, Any] = (await client.get(f"/api/v1/orders/{order_id}")).json()
        return found if found.get("status") in wanted else None

    return await eventually(read, within=40)


async def saga(world: World, order_id: str) -> dict[str, Any]:
    answer = await world.ops(world.deployed.ordering).get(f"/api/v1/sagas/{order_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def steps(world: World, order_id: str, state: str) -> dict[str, str]:
    """{step: status} of the order's saga once it is `state`."""

    async def read() -> dict[str, str] | None:
        found = await saga(world, order_id)
        return {s["name"]: s["status"] for s in found["steps"]} if found["state"] == state else None

    return await eventually(read, within=40)


async def decisions(world: World, order_id: str) -> list[dict[str, Any]]:
    answer = await world.ops(world.deployed.compliance).get(
        "/api/v1/compliance/decisions", params={"order_id": order_id}
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def locks(world: World, order_id: str) -> list[dict[str, Any]]:
    answer = await world.ops(world.deployed.pricing).get(f"/api/v1/prices/locks/{order_id}")
    found: list[dict[str, Any]] = answer.json() if answer.status_code == 200 else []
    return found


async def atp(world: World, product_id: str) -> int:
    answer = await world.ops(world.deployed.inventory).get(f"/api/v1/inventory/{product_id}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["atp"])
