"""Paper-card exchange (docs/domain.md §21): when and how a pupil's paper card stopped being valid
(`pupils.paper_card_invalidated_on`, `pupils.paper_card_invalidation`) and the paper card an
application exchanges (`applications.paper_card_number`).

The replacement reason "address_change" is no longer offered; stored rows keep the key and the
code keeps its label (`RETIRED_REASONS`), so no data changes here.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pupils') as batch:
        batch.add_column(sa.Column('paper_card_invalidated_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('paper_card_invalidation', sa.String(20), nullable=False, server_default=''))
    with op.batch_alter_table('applications') as batch:
        batch.add_column(sa.Column('paper_card_number', sa.String(30), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('applications') as batch:
        batch.drop_column('paper_card_number')
    with op.batch_alter_table('pupils') as batch:
        batch.drop_column('paper_card_invalidation')
        batch.drop_column('paper_card_invalidated_on')
