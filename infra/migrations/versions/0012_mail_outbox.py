"""The mail outbox: every e-mail the product promises is a row written with the change that
promises it, one per recipient; the relay enqueues a job per due row and the job sends it once
(tenants.mail.outbox). On PostgreSQL row-level security admits the school's rows and the system
scope, like the batch outbox.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
SYSTEM = "current_setting('app.scope', true) = 'system'"
RULE = f"school_id = {SCHOOL} OR {SYSTEM}"


def upgrade() -> None:
    op.create_table('mail_outbox',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('recipient_id', Id, nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('enqueued_count', sa.Integer(), nullable=False),
    sa.Column('relayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_mail_outbox_school_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox'))
    )
    op.create_index(op.f('ix_mail_outbox_school_id'), 'mail_outbox', ['school_id'], unique=False)
    op.create_index(op.f('ix_mail_outbox_status'), 'mail_outbox', ['status'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON mail_outbox USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    op.drop_index(op.f('ix_mail_outbox_status'), table_name='mail_outbox')
    op.drop_index(op.f('ix_mail_outbox_school_id'), table_name='mail_outbox')
    op.drop_table('mail_outbox')
