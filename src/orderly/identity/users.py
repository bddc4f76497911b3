"""Users: made by operators' and admins' tools, read, and disabled."""

from dataclasses import dataclass
from typing import Any

from orderly.identity import domain, store
from orderly.identity.messages import SOURCE, UserCreated, UserDisabled
from orderly.identity.passwords import Passwords
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import Conflict, NotFound
from orderly.kernel.ids import new_id
from orderly.kernel.principal import Principal
from orderly.messaging import emit, new_message
from orderly.storage import Database, Row, Tx


class EmailTaken(Conflict):
    code = "email_taken"
    title = "E-mail already registered"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    first_name: str
    last_name: str
    roles: tuple[str, ...] = (domain.Role.CUSTOMER,)
    organisation_id: str | None = None


async def register_user(db: Database, passwords: Passwords, new: Registration) -> str:
    """Store a new user and publish `user.created`; its id. For operators' and admins' tools:
    a taken e-mail is refused (`EmailTaken`)."""
    email = domain.normalise_email(new.email)
    domain.check_password(new.password, email=email)
    password_hash = await passwords.hash(new.password)
    user_id = new_id()

    async def work(tx: Tx) -> None:
        if not await insert_user(tx, user_id, email, password_hash, new):
            raise EmailTaken("this e-mail is already registered")

    await db.transaction(work)
    return user_id


async def insert_user(
    tx: Tx, user_id: str, email: str, password_hash: str, new: Registration
) -> bool:
    """False, and nothing written, if the e-mail is taken."""
    now = utcnow()
    inserted = await tx.execute(
        store.INSERT_USER,
        {
            "id": user_id,
            "email": email,
            "password_hash": password_hash,
            "first_name": new.first_name,
            "last_name": new.last_name,
            "roles": list(new.roles),
            "at": now,
        },
    )
    if not inserted:
        return False
    if new.organisation_id is not None:
        join = {"id": user_id, "organisation_id": new.organisation_id, "at": now}
        await tx.execute(store.JOIN_ORGANISATION, join)
    await user_created(tx, user_id, email, new.first_name, new.last_name)
    return True


async def user_created(tx: Tx, user_id: str, email: str, first: str, last: str) -> None:
    created = UserCreated(user_id=user_id, email=email, first_name=first, last_name=last)
    await emit(tx, new_message(created, source=SOURCE, aggregate_id=user_id))


async def create_operator(db: Database, passwords: Passwords, email: str, password: str) -> bool:
    """Make `email` an operator with `password`; True if the user was new. Safe to repeat."""
    email = domain.normalise_email(email)
    domain.check_password(password, email=email)
    password_hash = await passwords.hash(password)
    roles = [domain.Role.OPERATOR.value]

    async def work(tx: Tx) -> bool:
        now = utcnow()
        user_id = new_id()
        params = {
            "id": user_id,
            "email": email,
            "password_hash": password_hash,
            "first_name": "Operator",
            "last_name": "",
            "roles": roles,
            "at": now,
        }
        if await tx.execute(store.INSERT_USER, params):
            await user_created(tx, user_id, email, "Operator", "")
            return True
        row = await tx.fetch_one(store.USER_BY_EMAIL, {"email": email})
        assert row is not None
        await tx.execute(
            store.MAKE_OPERATOR,
            {"id": row["id"], "roles": roles, "password_hash": password_hash, "at": now},
        )
        return False

    return await db.transaction(work)


async def disable_user(db: Database, principal: Principal, user_id: str) -> dict[str, Any]:
    """Operators only: the user can no longer log in, and every session of theirs ends now."""
    if not principal.is_operator:
        raise UserNotFound(f"user {user_id} does not exist")

    async def work(tx: Tx) -> None:
        now = utcnow()
        if await tx.fetch_one(store.USER_BY_ID, {"id": user_id}) is None:
            raise UserNotFound(f"user {user_id} does not exist")
        if await tx.execute(store.DISABLE_USER, {"id": user_id, "at": now}):
            disabled = UserDisabled(user_id=user_id)
            await emit(tx, new_message(disabled, source=SOURCE, aggregate_id=user_id))
        await tx.execute(
            store.REVOKE_USER_SESSIONS, {"user_id": user_id, "at": now, "reason": "disabled"}
        )

    await db.transaction(work)
    return await get_user(db, principal, user_id)


def own_user(principal: Principal, user_id: str) -> None:
    """A user sees itself; an operator sees anyone; anyone else is told there is no such user."""
    if principal.user_id != user_id and not principal.is_operator:
        raise UserNotFound(f"user {user_id} does not exist")


async def get_user(db: Database, principal: Principal, user_id: str) -> dict[str, Any]:
    own_user(principal, user_id)
    row = await db.read(lambda tx: tx.fetch_one(store.USER_BY_ID, {"id": user_id}))
    if row is None:
        raise UserNotFound(f"user {user_id} does not exist")
    return user_view(row)


def user_view(row: Row) -> dict[str, Any]:
    return {
        "userId": row["id"],
        "email": row["email"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "roles": row["roles"],
        "organisationId": row["organisation_id"],
        "disabled": row["disabled_at"] is not None,
        "createdAt": row["created_at"],
    }
