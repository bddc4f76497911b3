"""Inventory: a customer's live holds, found by the customer (bounding unconfirmed ones)."""

from alembic import op

revision = "inventory_0005"
down_revision = "inventory_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("reservations_customer", "reservations", ["customer_id", "status", "kind"])


def downgrade() -> None:
    op.drop_index("reservations_customer", "reservations")
