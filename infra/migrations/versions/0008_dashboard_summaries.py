"""Dashboard summaries: order facts, schools' hologram counts, card-fact indexes by period; the
council's PDF reports, built by a job.

`order_facts` is rebuilt from `card_facts` by every statistics refresh (reports.statistics);
until the first refresh after this migration the dashboard's money and punctuality figures are
empty, so run `flask legitka refresh-stats` after upgrading (the worker does it within 10 minutes).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"


def upgrade() -> None:
    with op.batch_alter_table('school_stats') as batch:
        batch.add_column(sa.Column('hologram_counts', sa.JSON(), nullable=False, server_default='{}'))
    op.create_index('ix_card_facts_city_id_submitted_on', 'card_facts', ['city_id', 'submitted_on'])
    op.create_index('ix_card_facts_city_id_handed_over_on', 'card_facts', ['city_id', 'handed_over_on'])

    op.create_table('order_facts',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('channel', sa.String(12), nullable=False),
    sa.Column('printer_id', Id, nullable=True),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('promised_days', sa.Integer(), nullable=True),
    sa.Column('cards', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Numeric(12, 2), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('fees', sa.Numeric(10, 2), nullable=False),
    sa.Column('live_waiting', sa.Integer(), nullable=False),
    sa.Column('spoiled', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_order_facts_school_id_organisations')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_order_facts_city_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'],
                            name=op.f('fk_order_facts_printer_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_facts')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_order_facts_school_id_id')),
    )
    op.create_index(op.f('ix_order_facts_school_id'), 'order_facts', ['school_id'])
    op.create_index('ix_order_facts_city_id_submitted_on', 'order_facts', ['city_id', 'submitted_on'])

    op.create_table('council_reports',
    sa.Column('id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('requested_by_id', Id, nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=True),
    sa.Column('date_to', sa.Date(), nullable=True),
    sa.Column('school_type', sa.String(20), nullable=False),
    sa.Column('district', sa.String(100), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(10), nullable=False),
    sa.Column('file_key', sa.String(200), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_council_reports_city_id_organisations')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_council_reports_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_reports')),
    )
    op.create_index(op.f('ix_council_reports_city_id'), 'council_reports', ['city_id'])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE council_reports ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE council_reports FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY city_owns ON council_reports USING (city_id = {CITY}) WITH CHECK (city_id = {CITY})")
        op.execute("ALTER TABLE order_facts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE order_facts FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON order_facts USING (school_id = {SCHOOL}) "
                   f"WITH CHECK (school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY city_reads ON order_facts FOR SELECT USING (city_id = {CITY})")


def downgrade() -> None:
    op.drop_index(op.f('ix_council_reports_city_id'), table_name='council_reports')
    op.drop_table('council_reports')
    op.drop_index('ix_order_facts_city_id_submitted_on', table_name='order_facts')
    op.drop_index(op.f('ix_order_facts_school_id'), table_name='order_facts')
    op.drop_table('order_facts')
    op.drop_index('ix_card_facts_city_id_handed_over_on', table_name='card_facts')
    op.drop_index('ix_card_facts_city_id_submitted_on', table_name='card_facts')
    with op.batch_alter_table('school_stats') as batch:
        batch.drop_column('hologram_counts')
