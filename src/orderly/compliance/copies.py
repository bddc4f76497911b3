"""Compliance's copies of accounts (identity's registrations) and products (catalog's DEA
schedules and packs), which every check reads, and what an operator sets of a product."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from msgspec import UnsetType

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.compliance import store
from orderly.compliance.domain import Account, Product, default_family, units_per_package
from orderly.identity.messages import AccountCreated, AccountUpdated, Registration
from orderly.kernel.clock import utcnow
from orderly.kernel.errors import NotFound
from orderly.storage import Database, Row, Tx


def _account_row(
    account_id: str,
    can_order_schedule_ii: bool,
    registration: Registration | None,
    certificate: str | None,
) -> dict[str, Any]:
    r = registration
    return {
        "account_id": account_id,
        "dea_number": r.dea_number if r else None,
        "dea_schedules": sorted(r.dea_schedules) if r else [],
        "dea_expires_on": r.dea_expires_on.isoformat() if r else None,
        "dea_active": r.dea_active if r else False,
        "registered_address": r.registered_address if r else None,
        "licence_state": r.licence_state if r else None,
        "licence_expires_on": (
            r.licence_expires_on.isoformat() if r and r.licence_expires_on else None
        ),
        "can_order_schedule_ii": can_order_schedule_ii,
        "csos_certificate": certificate,
        "at": utcnow(),
    }


async def copy_created_account(tx: Tx, account: AccountCreated) -> None:
    row = _account_row(
        account.account_id, account.can_order_schedule_ii, account.registration, None
    )
    await tx.execute(store.INSERT_ACCOUNT, row)


async def copy_updated_account(tx: Tx, account: AccountUpdated) -> None:
    row = _account_row(
        account.account_id,
        account.can_order_schedule_ii,
        account.registration,
        account.csos_certificate,
    )
    await tx.execute(store.UPSERT_ACCOUNT, row)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def load_account(tx: Tx, account_id: str | None) -> Account | None:
    row = await tx.fetch_one(store.ACCOUNT, {"account_id": account_id}) if account_id else None
    if row is None:
        return None
    return Account(
        account_id=row["account_id"],
        dea_number=row["dea_number"],
        schedules=frozenset(row["dea_schedules"] or ()),
        dea_expires_on=_day(row["dea_expires_on"]),
        dea_active=bool(row["dea_active"]),
        registered_address=row["registered_address"],
        licence_state=row["licence_state"],
        licence_expires_on=_day(row["licence_expires_on"]),
        can_order_schedule_ii=bool(row["can_order_schedule_ii"]),
        csos_certificate=row["csos_certificate"],
    )


async def copy_created_product(tx: Tx, product: ProductCreated) -> None:
    await tx.execute(
        store.INSERT_PRODUCT,
        {
            "product_id": product.product_id,
            "name": product.name,
            "ndc": product.ndc,
            "dea_schedule": product.dea_schedule,
            "family": default_family(product.name),
            "units_per_package": 1,
        },
    )


async def copy_updated_product(tx: Tx, changed: ProductUpdated) -> None:
    """A change of name, schedule or pack; an operator's family and units stand."""
    row = await tx.fetch_one(store.PRODUCT, {"product_id": changed.product_id})
    if row is None:
        return  # its product.created comes first on the same queue, or never came
    name = row["name"] if isinstance(changed.name, UnsetType) else changed.name
    schedule = (
        row["dea_schedule"] if isinstance(changed.dea_schedule, UnsetType) else changed.dea_schedule
    )
    family, units = row["family"], int(row["units_per_package"])
    if not row["configured"]:
        family = default_family(name)
        if not isinstance(changed.pack_size, UnsetType):
            units = units_per_package(changed.pack_size)
    await tx.execute(
        store.UPDATE_PRODUCT,
        {
            "product_id": changed.product_id,
            "name": name,
            "dea_schedule": schedule,
            "family": family,
            "units_per_package": units,
        },
    )


def _product(row: Row) -> Product:
    return Product(
        product_id=row["product_id"],
        name=row["name"],
        dea_schedule=row["dea_schedule"],
        family=row["family"],
        units_per_package=int(row["units_per_package"]),
        serialized=bool(row["serialized"]),
    )


async def load_products(tx: Tx, product_ids: Iterable[str]) -> dict[str, Product]:
    found = {}
    for product_id in sorted(set(product_ids)):
        row = await tx.fetch_one(store.PRODUCT, {"product_id": product_id})
        if row is not None:
            found[product_id] = _product(row)
    return found


@dataclass(frozen=True)
class ProductSettings:
    serialized: bool
    family: str
    units_per_package: int


def product_view(row: Row) -> dict[str, Any]:
    return {
        "productId": row["product_id"],
        "name": row["name"],
        "deaSchedule": row["dea_schedule"],
        "family": row["family"],
        "unitsPerPackage": int(row["units_per_package"]),
        "serialized": bool(row["serialized"]),
    }


async def find_product(db: Database, product_id: str) -> dict[str, Any]:
    row = await db.read(lambda tx: tx.fetch_one(store.PRODUCT, {"product_id": product_id}))
    if row is None:
        raise ProductNotKnown(f"compliance has not heard of product {product_id}")
    return product_view(row)


class ProductNotKnown(NotFound):
    code = "product_not_found"
    title = "Product not known to compliance"


async def configure_product(
    db: Database, product_id: str, settings: ProductSettings
) -> dict[str, Any]:
    """An operator's word on a product: whether it is serialized, its drug family and its
    dosage units per package (catalog's later changes leave these as set)."""

    async def work(tx: Tx) -> dict[str, Any]:
        await tx.execute(
            store.CONFIGURE_PRODUCT,
            {
                "product_id": product_id,
                "name": "",
                "family": settings.family,
                "units_per_package": settings.units_per_package,
                "serialized": settings.serialized,
            },
        )
        row = await tx.fetch_one(store.PRODUCT, {"product_id": product_id})
        assert row is not None
        return product_view(row)

    return await db.transaction(work)
