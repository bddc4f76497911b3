"""Catalog tables and queries."""

import sqlalchemy as sa

from orderly.storage import sql

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("price_cents", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

INSERT_PRODUCT = sql(
    "INSERT INTO products (id, sku, name, description, price_cents, created_at, updated_at)"
    " VALUES (:id, :sku, :name, :description, :price_cents, :at, :at)"
    " ON CONFLICT (sku) DO NOTHING"
)
_PRODUCT_COLUMNS = (
    "SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.created_at, p.updated_at"
    " FROM products p"
)
GET_PRODUCT = sql(f"{_PRODUCT_COLUMNS} WHERE p.id = :id")
LIST_PRODUCTS = sql(f"{_PRODUCT_COLUMNS} ORDER BY p.created_at, p.id LIMIT :limit OFFSET :offset")
