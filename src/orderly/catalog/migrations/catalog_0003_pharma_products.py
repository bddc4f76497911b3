"""Catalog: NDC, GTIN, strength, form, DEA schedule, pack size, manufacturer, attributes; and
the words index behind search."""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0003"
down_revision = "catalog_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("ndc", sa.String(12)))
        batch.add_column(sa.Column("ndc11", sa.String(11)))
        batch.add_column(sa.Column("ndc_digits", sa.String(10)))
        batch.add_column(sa.Column("gtin", sa.String(14)))
        for name, size in (
            ("strength", 100),
            ("dosage_form", 100),
            ("pack_size", 200),
            ("manufacturer", 200),
        ):
            batch.add_column(sa.Column(name, sa.String(size), nullable=False, server_default=""))
        batch.add_column(sa.Column("dea_schedule", sa.String(4)))
        batch.add_column(sa.Column("attributes", sa.JSON(), nullable=False, server_default="{}"))
        batch.create_unique_constraint("products_ndc11_key", ["ndc11"])
    op.create_index("products_ndc_digits", "products", ["ndc_digits"])
    op.create_index("products_name", "products", ["name", "id"])
    op.create_table(
        "product_terms",
        sa.Column(
            "term",
            sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql"),
            primary_key=True,
        ),
        sa.Column(
            "name",
            sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql"),
            primary_key=True,
        ),
        sa.Column("product_id", sa.String(36), primary_key=True),
    )
    op.create_index("product_terms_product", "product_terms", ["product_id", "term"])


def downgrade() -> None:
    op.drop_table("product_terms")
    op.drop_index("products_name", "products")
    op.drop_index("products_ndc_digits", "products")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("products_ndc11_key", type_="unique")
        for name in (
            "attributes",
            "dea_schedule",
            "manufacturer",
            "pack_size",
            "dosage_form",
            "strength",
            "gtin",
            "ndc_digits",
            "ndc11",
            "ndc",
        ):
            batch.drop_column(name)
