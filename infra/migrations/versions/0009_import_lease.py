"""Imports hold a lease while their job works: an import whose job died (killed, lost with Redis) shows as
failed once the lease lapses, and the worker's sweep marks it so and deletes its file.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('imports') as batch:
        batch.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('imports') as batch:
        batch.drop_column('lease_until')
