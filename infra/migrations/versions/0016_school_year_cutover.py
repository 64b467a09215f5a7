"""A city's day from which cards are issued for the coming school year (docs/domain.md §4):
`organisations.school_year_cutover`, "MM-DD" or "" for the default (the day after classes end).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('school_year_cutover', sa.String(length=5), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('school_year_cutover')
