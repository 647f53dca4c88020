"""held receipts: delivery receipts that arrive before their row holds the provider id

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("provider_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("held_receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_receipt_provider_id"), ["provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("held_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_receipt_provider_id"))
    op.drop_table("held_receipt")
