"""Catalog tables and queries."""

import sqlalchemy as sa

from orderly.storage import sql
from orderly.storage.statements import Statement

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("price_cents", sa.BigInteger()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ndc", sa.String(12)),
    sa.Column("ndc11", sa.String(11)),
    sa.Column("ndc_digits", sa.String(10)),
    sa.Column("gtin", sa.String(14)),
    sa.Column("strength", sa.String(100), nullable=False, server_default=""),
    sa.Column("dosage_form", sa.String(100), nullable=False, server_default=""),
    sa.Column("dea_schedule", sa.String(4)),
    sa.Column("pack_size", sa.String(200), nullable=False, server_default=""),
    sa.Column("manufacturer", sa.String(200), nullable=False, server_default=""),
    sa.Column("attributes", sa.JSON(), nullable=False, server_default="{}"),
    sa.UniqueConstraint("ndc11", name="products_ndc11_key"),
    sa.Index("products_ndc_digits", "ndc_digits"),
    sa.Index("products_name", "name", "id"),
)

# Words of a product's name, manufacturer, form and SKU, for prefix search, each with the
# product's name so that one word's matches come out of the index already in name order.
# Byte order ("C") on PostgreSQL, as SQLite compares, so a prefix is a range of the index.
TERM = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
NAME = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
product_terms = sa.Table(
    "product_terms",
    metadata,
    sa.Column("term", TERM, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Index("product_terms_product", "product_id", "term"),
)

INSERT_PRODUCT = sql(
    "INSERT INTO products (id, sku, name, description, price_cents, created_at, updated_at,"
    " ndc, ndc11, ndc_digits, gtin, strength, dosage_form, dea_schedule, pack_size,"
    " manufacturer, attributes)"
    " VALUES (:id, :sku, :name, :description, :price_cents, :at, :at, :ndc, :ndc11,"
    " :ndc_digits, :gtin, :strength, :dosage_form, :dea_schedule, :pack_size, :manufacturer,"
    " :attributes) ON CONFLICT DO NOTHING"
)
SET_PRICE = sql(
    "UPDATE products SET price_cents = :price_cents, updated_at = :at"
    " WHERE id = :id AND price_cents IS DISTINCT FROM :price_cents"
)
UPDATE_PRODUCT = sql(
    "UPDATE products SET name = :name, description = :description, price_cents = :price_cents,"
    " strength = :strength, dosage_form = :dosage_form, dea_schedule = :dea_schedule,"
    " pack_size = :pack_size, manufacturer = :manufacturer, attributes = :attributes,"
    " updated_at = :at WHERE id = :id"
)
_PRODUCT_COLUMNS = (
    "SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.created_at, p.updated_at,"
    " p.ndc, p.ndc11, p.gtin, p.strength, p.dosage_form, p.dea_schedule, p.pack_size,"
    " p.manufacturer, p.attributes FROM products p"
)
GET_PRODUCT = sql(f"{_PRODUCT_COLUMNS} WHERE p.id = :id")
PRODUCTS = sql(f"{_PRODUCT_COLUMNS} WHERE p.id IN :ids", lists=["ids"])
BY_SKU = sql("SELECT id FROM products WHERE sku = :sku")
LIST_PRODUCTS = sql(f"{_PRODUCT_COLUMNS} ORDER BY p.created_at, p.id LIMIT :limit OFFSET :offset")
SEARCH_NDC11 = sql(f"{_PRODUCT_COLUMNS} WHERE p.ndc11 = :key ORDER BY p.name, p.id")
SEARCH_DIGITS = sql(f"{_PRODUCT_COLUMNS} WHERE p.ndc_digits = :key ORDER BY p.name, p.id")
INSERT_TERM = sql(
    "INSERT INTO product_terms (term, name, product_id) VALUES (:term, :name, :product_id)"
    " ON CONFLICT DO NOTHING"
)
DELETE_TERMS = sql("DELETE FROM product_terms WHERE product_id = :product_id")
MAX_WORDS = 5
# How many products start with a prefix, counted up to a cap: the rarest word drives a search.
PREFIX_COUNT = sql(
    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM product_terms"
    " WHERE term >= :lo AND term < :hi LIMIT 2000) found"
)


def search_words(words: int) -> Statement:
    """Products with a term starting with each of `words` prefixes: the first drives, in index
    order (its term, then the name), and each other is checked per product."""
    others = "".join(
        f" AND EXISTS (SELECT 1 FROM product_terms t{n} WHERE t{n}.product_id = t0.product_id"
        f" AND t{n}.term >= :lo{n} AND t{n}.term < :hi{n})"
        for n in range(1, words)
    )
    columns = _PRODUCT_COLUMNS.removesuffix(" FROM products p")
    return sql(
        f"{columns} FROM product_terms t0 JOIN products p ON p.id = t0.product_id"
        f" WHERE t0.term >= :lo0 AND t0.term < :hi0{others}"
        " ORDER BY t0.term, t0.name, t0.product_id LIMIT :limit OFFSET :offset"
    )


SEARCH_WORDS = {n: search_words(n) for n in range(1, MAX_WORDS + 1)}
