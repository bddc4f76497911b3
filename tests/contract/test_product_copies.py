"""Ordering's product copies made before it kept DEA schedules are asked of the catalog again
before anyone orders or carts them: never taken as unscheduled."""

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from orderly.ordering import products
from orderly.ordering.availability import UnknownProduct
from orderly.storage import open_database
from orderly.storage.migrations import alembic_config, migrate
from orderly.storage.sqlite import make_private, sqlite_path


class FakeCatalog:
    def __init__(self, *known: dict[str, Any]) -> None:
        self.known = {p["id"]: p for p in known}
        self.asked: list[str] = []

    async def fetch(self, product_id: str, *, token: str) -> dict[str, Any] | None:
        self.asked.append(product_id)
        return self.known.get(product_id)

    async def close(self) -> None:
        return None


async def test_a_copy_older_than_schedules_is_asked_for_again(tmp_path: Path) -> None:
    # given a copy of a schedule II product made before ordering kept schedules
    url = f"sqlite:///{tmp_path / 'var'}"
    path = sqlite_path(url, "ordering")
    make_private(path)
    engine = sa.create_engine(f"sqlite:///{path}")
    config = alembic_config("ordering")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["schema"] = None
        command.upgrade(config, "ordering_0005")
        connection.execute(
            sa.text(
                "INSERT INTO order_products (product_id, sku, name, price_cents, updated_at)"
                " VALUES ('oxy', 'OXY-5-15', 'Oxycodone', 3890, '2026-01-01')"
            )
        )
    engine.dispose()
    await migrate(url, "ordering")
    db = await open_database(url, "ordering")
    try:
        # its schedule is not known: it is not taken for an unscheduled product
        with pytest.raises(UnknownProduct):
            await products.schedules(db, ["oxy"])

        # asked of the catalog, the copy learns it
        catalog = FakeCatalog(
            {
                "id": "oxy",
                "sku": "OXY-5-15",
                "name": "Oxycodone",
                "price": "38.90",
                "dea_schedule": "CII",
            }
        )
        learnt = await products.asking_catalog(
            db, catalog, ["oxy"], "", lambda: products.schedules(db, ["oxy"])
        )
        assert learnt == {"oxy": "CII"}
        assert catalog.asked == ["oxy"]
        assert await products.schedules(db, ["oxy"]) == {"oxy": "CII"}
    finally:
        await db.close()
