"""A printer's lead time may count working days (ZEFO: "no later than 21 working days";
docs/domain.md §20): `organisations.lead_time_working`.

A column on `organisations`, like the printer's other terms: that table has no RLS of its own
and needs no new policy.

Revision ID: 0028
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('lead_time_working', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('lead_time_working')
