"""The rollout's cards by source (docs/domain.md §24, §26, issue 17): `school_stats.valid_cards_imported`,
the active pupils whose valid card came from the school's imported earlier register. The worker's
next refresh fills it (within 10 minutes); until then it reads 0.

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('school_stats') as batch:
        batch.add_column(sa.Column('valid_cards_imported', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('school_stats') as batch:
        batch.drop_column('valid_cards_imported')
