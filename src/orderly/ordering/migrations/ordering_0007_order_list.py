"""Ordering: indexes for the order list across every customer, newest first or of one
status."""

from alembic import op

revision = "ordering_0007"
down_revision = "ordering_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("orders_created", "orders", ["created_at"])
    op.create_index("orders_status", "orders", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("orders_status", "orders")
    op.drop_index("orders_created", "orders")
