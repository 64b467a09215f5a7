"""Jobs a user waits for keep their own safety net (infra.jobs): how often each import and council
report was sent to the queue and when last, the attempt that holds it, and for council reports a
lease and the reason they failed.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('imports') as batch:
        batch.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('sends', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
    # A queued import waited on a fixed deadline before; now the reconciler sends it (again) when needed.
    op.execute("UPDATE imports SET lease_until = NULL WHERE status = 'queued'")
    with op.batch_alter_table('council_reports') as batch:
        batch.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('sends', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('error', sa.String(300), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('council_reports') as batch:
        for column in ('error', 'lease_until', 'sent_at', 'sends', 'attempt'):
            batch.drop_column(column)
    with op.batch_alter_table('imports') as batch:
        for column in ('sent_at', 'sends', 'attempt'):
            batch.drop_column(column)
