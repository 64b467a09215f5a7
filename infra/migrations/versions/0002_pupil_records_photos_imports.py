"""Pupil records, photo intake and roster imports (issue 3).

Pupils gain another identity document, book number, address, parent e-mail and photo status;
sex becomes optional (a pupil without PESEL). Applications gain the replacement/duplicate
details (reason, returned card, fee payment). Schools gain the fee account and photo policy.
New tables: photo_submissions, photo_links, imports, each with row-level security.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('bank_account', sa.String(26), nullable=False, server_default=''))
        batch.add_column(sa.Column('photo_policy', sa.JSON(), nullable=False, server_default='{}'))

    with op.batch_alter_table('pupils') as batch:
        batch.alter_column('sex', existing_type=sa.String(1), nullable=True)
        batch.add_column(sa.Column('id_document_type', sa.String(60), nullable=False, server_default=''))
        batch.add_column(sa.Column('id_document_cipher', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('id_document_index', sa.String(64), nullable=True))
        batch.add_column(sa.Column('book_number', sa.String(20), nullable=False, server_default=''))
        batch.add_column(sa.Column('address', sa.String(300), nullable=False, server_default=''))
        batch.add_column(sa.Column('parent_email', sa.String(254), nullable=False, server_default=''))
        batch.add_column(sa.Column('photo_status', sa.String(12), nullable=False, server_default='missing'))
        batch.create_unique_constraint(op.f('uq_pupils_school_id_id_document_index'), ['school_id', 'id_document_index'])
        batch.create_check_constraint(op.f('ck_pupils_status'), "status IN ('active', 'left', 'transferred')")
        batch.create_check_constraint(op.f('ck_pupils_identified'),
                                      "pesel_index IS NOT NULL OR id_document_index IS NOT NULL")
    op.execute("UPDATE pupils SET photo_status = 'accepted' WHERE photo_key IS NOT NULL")

    with op.batch_alter_table('applications') as batch:
        batch.add_column(sa.Column('reason_code', sa.String(20), nullable=False, server_default=''))
        batch.add_column(sa.Column('old_card_returned_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('payment_amount', sa.Numeric(8, 2), nullable=True))
        batch.add_column(sa.Column('payment_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('payment_reference', sa.String(100), nullable=False, server_default=''))
        batch.add_column(sa.Column('payment_checked_by_id', Id, nullable=True))
        batch.add_column(sa.Column('payment_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f('fk_applications_payment_checked_by_id_users'), 'users',
                                 ['payment_checked_by_id'], ['id'])

    op.create_table('photo_submissions',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('pupil_id', Id, nullable=False),
    sa.Column('source', sa.String(10), nullable=False),
    sa.Column('status', sa.String(12), nullable=False),
    sa.Column('storage_key', sa.String(200), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('notify_email', sa.String(254), nullable=False),
    sa.Column('rejection_reason', sa.String(300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('decided_by_id', Id, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_photo_submissions_school_id_organisations')),
    sa.ForeignKeyConstraint(['school_id', 'pupil_id'], ['pupils.school_id', 'pupils.id'],
                            name=op.f('fk_photo_submissions_school_id_pupils')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_photo_submissions_created_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_photo_submissions_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_submissions')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_photo_submissions_school_id_id')),
    )
    op.create_index(op.f('ix_photo_submissions_school_id'), 'photo_submissions', ['school_id'])

    op.create_table('photo_links',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('pupil_id', Id, nullable=False),
    sa.Column('token_hash', sa.String(64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_photo_links_school_id_organisations')),
    sa.ForeignKeyConstraint(['school_id', 'pupil_id'], ['pupils.school_id', 'pupils.id'],
                            name=op.f('fk_photo_links_school_id_pupils')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_photo_links_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_links')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_photo_links_school_id_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_photo_links_token_hash')),
    )
    op.create_index(op.f('ix_photo_links_school_id'), 'photo_links', ['school_id'])

    op.create_table('imports',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('kind', sa.String(10), nullable=False),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('file_key', sa.String(200), nullable=True),
    sa.Column('layout', sa.String(20), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('error_message', sa.String(300), nullable=False),
    sa.Column('created_by_id', Id, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_imports_school_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_imports_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_imports_school_id_id')),
    )
    op.create_index(op.f('ix_imports_school_id'), 'imports', ['school_id'])

    if op.get_bind().dialect.name == "postgresql":
        _enable_rls()


SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
LINK = "NULLIF(current_setting('app.link_hash', true), '')"

POLICIES = {
    "photo_submissions": f"school_id = {SCHOOL}",
    "imports": f"school_id = {SCHOOL}",
    # A parent's request carries only the hash of the token they hold: it opens that one row.
    "photo_links": f"school_id = {SCHOOL} OR token_hash = {LINK}",
}


def _enable_rls() -> None:
    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    op.drop_index(op.f('ix_imports_school_id'), table_name='imports')
    op.drop_table('imports')
    op.drop_index(op.f('ix_photo_links_school_id'), table_name='photo_links')
    op.drop_table('photo_links')
    op.drop_index(op.f('ix_photo_submissions_school_id'), table_name='photo_submissions')
    op.drop_table('photo_submissions')
    with op.batch_alter_table('applications') as batch:
        batch.drop_constraint(op.f('fk_applications_payment_checked_by_id_users'), type_='foreignkey')
        for column in ('payment_checked_at', 'payment_checked_by_id', 'payment_reference', 'payment_date',
                       'payment_amount', 'old_card_returned_on', 'reason_code'):
            batch.drop_column(column)
    with op.batch_alter_table('pupils') as batch:
        batch.drop_constraint(op.f('ck_pupils_identified'), type_='check')
        batch.drop_constraint(op.f('ck_pupils_status'), type_='check')
        batch.drop_constraint(op.f('uq_pupils_school_id_id_document_index'), type_='unique')
        for column in ('photo_status', 'parent_email', 'address', 'book_number', 'id_document_index',
                       'id_document_cipher', 'id_document_type'):
            batch.drop_column(column)
        batch.alter_column('sex', existing_type=sa.String(1), nullable=False)
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('photo_policy')
        batch.drop_column('bank_account')
