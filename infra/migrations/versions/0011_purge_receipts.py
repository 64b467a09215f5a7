"""A deletion receipt is written before the purge deletes anything, holding the plan (each file and
the versions found); `deleted_at` stays empty until every file is gone. A purge killed half-way is
continued by the next run and its receipt keeps the true counts.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deletion_receipts') as batch:
        batch.alter_column('deleted_at', existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM deletion_receipts WHERE deleted_at IS NULL")  # purges still under way: rerun them
    with op.batch_alter_table('deletion_receipts') as batch:
        batch.alter_column('deleted_at', existing_type=sa.DateTime(timezone=True), nullable=False)
