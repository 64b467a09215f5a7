"""Data-processing agreements between schools and printers (issue 5).

The school keeps them (all operations); the printer may only read those that bind it.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('processing_agreements',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=False),
    sa.Column('reference', sa.String(100), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid_until >= valid_from', name=op.f('ck_processing_agreements_period')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                            name=op.f('fk_processing_agreements_school_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'],
                            name=op.f('fk_processing_agreements_printer_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_processing_agreements_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_agreements')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_processing_agreements_school_id_id')),
    )
    op.create_index(op.f('ix_processing_agreements_school_id'), 'processing_agreements', ['school_id'])
    op.create_index(op.f('ix_processing_agreements_printer_id'), 'processing_agreements', ['printer_id'])
    if op.get_bind().dialect.name == "postgresql":
        school = "NULLIF(current_setting('app.school_id', true), '')::bigint"
        printer = "NULLIF(current_setting('app.printer_id', true), '')::bigint"
        op.execute("ALTER TABLE processing_agreements ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE processing_agreements FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON processing_agreements USING (school_id = {school}) "
                   f"WITH CHECK (school_id = {school})")
        op.execute(f"CREATE POLICY printer_reads ON processing_agreements FOR SELECT USING (printer_id = {printer})")


def downgrade() -> None:
    op.drop_index(op.f('ix_processing_agreements_printer_id'), table_name='processing_agreements')
    op.drop_index(op.f('ix_processing_agreements_school_id'), table_name='processing_agreements')
    op.drop_table('processing_agreements')
