"""complaint.access_key: the unguessable key of the enterprise's progress link

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 19:00:00

Existing complaints get a fresh key each; links already sent by SMS (``/t/<tracking_no>``) keep working
and show the progress without the private parts.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of workflows/access.py at this revision: a migration must not change when the code does.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
KEY_LENGTH = 12
BATCH = 1000


def _key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH))


def upgrade() -> None:
    op.add_column("complaint", sa.Column("access_key", sqlmodel.sql.sqltypes.AutoString(length=16)))
    connection = op.get_bind()
    complaint = sa.table("complaint", sa.column("id", sa.Integer), sa.column("access_key", sa.String))
    update = (
        sa.update(complaint)
        .where(complaint.c.id == sa.bindparam("cid"))
        .values(access_key=sa.bindparam("key"))
    )
    while True:
        ids = (
            connection.execute(sa.select(complaint.c.id).where(complaint.c.access_key.is_(None)).limit(BATCH))
            .scalars()
            .all()
        )
        if not ids:
            break
        connection.execute(update, [{"cid": cid, "key": _key()} for cid in ids])
    with op.batch_alter_table("complaint") as batch:
        batch.alter_column(
            "access_key", existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        )
        batch.create_index("ix_complaint_access_key", ["access_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.drop_index("ix_complaint_access_key")
        batch.drop_column("access_key")
