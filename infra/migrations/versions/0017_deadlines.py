"""A school's promised turnaround and its collection-notice rule (docs/domain.md §20):
`organisations.promise_days`, `promise_working_days`, `notice_working_days`.

Columns on `organisations`, like the school's other settings (bank account, photo policy): that
table has no RLS of its own and needs no new policy.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('promise_days', sa.Integer(), nullable=False, server_default='30'))
        batch.add_column(sa.Column('promise_working_days', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('notice_working_days', sa.Integer(), nullable=False, server_default='5'))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('notice_working_days')
        batch.drop_column('promise_working_days')
        batch.drop_column('promise_days')
