"""Who needs a card and the September forecast (docs/domain.md §26, issue 17): the parts of
`school_stats.pupils_needing_card` (never had a card, a card that lost validity, open requests),
pupils holding a handed-over e-card, each school's yearly history of pupils and first classes,
and the forecasts (reports.forecast). The worker's next refresh fills them (within 10 minutes);
until then they read 0 and the pages show no forecast.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

COUNTS = ('needing_new', 'needing_invalidated', 'needing_requests', 'pupils_valid_ecard')


def upgrade() -> None:
    with op.batch_alter_table('school_stats') as batch:
        for name in COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('year_history', sa.JSON(), nullable=False, server_default='{}'))
        batch.add_column(sa.Column('forecast', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('school_stats') as batch:
        batch.drop_column('forecast')
        batch.drop_column('year_history')
        for name in reversed(COUNTS):
            batch.drop_column(name)
