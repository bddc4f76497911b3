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

stock = sa.Table(
    "stock",
    metadata,
    sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), primary_key=True),
    sa.Column("on_hand", sa.BigInteger(), nullable=False),
    sa.Column("allocated", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

INSERT_PRODUCT = sql(
    "INSERT INTO products (id, sku, name, description, price_cents, created_at, updated_at)"
    " VALUES (:id, :sku, :name, :description, :price_cents, :at, :at)"
    " ON CONFLICT (sku) DO NOTHING"
)
INSERT_STOCK = sql(
    "INSERT INTO stock (product_id, on_hand, allocated, updated_at)"
    " VALUES (:product_id, :on_hand, 0, :at)"
)
_PRODUCT_COLUMNS = (
    "SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.created_at, p.updated_at,"
    " s.on_hand, s.allocated FROM products p JOIN stock s ON s.product_id = p.id"
)
GET_PRODUCT = sql(f"{_PRODUCT_COLUMNS} WHERE p.id = :id")
LIST_PRODUCTS = sql(f"{_PRODUCT_COLUMNS} ORDER BY p.created_at, p.id LIMIT :limit OFFSET :offset")
GET_STOCK = sql("SELECT product_id, on_hand, allocated FROM stock WHERE product_id = :id")
ALLOCATE = sql(
    "UPDATE stock SET allocated = allocated + :quantity, updated_at = :at"
    " WHERE product_id = :product_id"
)
