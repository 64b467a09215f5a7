"""The school's data-protection registers (docs/privacy-registers.md): the breach register
`data_breaches` with its insert-only `data_breach_versions`, and `privacy_contacts`, the
director's part of the records of processing activities.

On PostgreSQL: row-level security, forced, on all three. The breach tables have a SELECT and an
INSERT policy for the school and nothing else, so no UPDATE or DELETE ever reaches a row
(`infra.migrate.grant_app_role` also takes both privileges away from the app role), and a trigger
refuses UPDATE and DELETE even to the owner: entries are never deleted, a change is a new version
(docs/privacy-registers.md §3). `privacy_contacts` is the school's in every operation. Each gets
the owner's `migration_runner` policy (0014).

Revision ID: 0032
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0030'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
SEES_ALL = "current_setting('legitka.migration', true) = 'on'"  # the owner's data migrations (0014)
REGISTER = ("data_breaches", "data_breach_versions")


def upgrade() -> None:
    op.create_table(
        'data_breaches',
        sa.Column('id', Id, nullable=False),
        sa.Column('school_id', Id, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', Id, nullable=True),
        sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                                name=op.f('fk_data_breaches_school_id_organisations')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_data_breaches_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_breaches')),
        sa.UniqueConstraint('school_id', 'id', name=op.f('uq_data_breaches_school_id_id')),
    )
    op.create_index(op.f('ix_data_breaches_school_id'), 'data_breaches', ['school_id'])
    op.create_table(
        'data_breach_versions',
        sa.Column('id', Id, nullable=False),
        sa.Column('school_id', Id, nullable=False),
        sa.Column('breach_id', Id, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('discovered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('description', sa.String(4000), nullable=False),
        sa.Column('data_categories', sa.String(2000), nullable=False),
        sa.Column('subject_categories', sa.String(300), nullable=False),
        sa.Column('persons_affected', sa.Integer(), nullable=True),
        sa.Column('consequences', sa.String(2000), nullable=False),
        sa.Column('measures', sa.String(2000), nullable=False),
        sa.Column('decision', sa.String(16), nullable=False),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('authority_reference', sa.String(100), nullable=False),
        sa.Column('delay_reason', sa.String(2000), nullable=False),
        sa.Column('not_reportable_reason', sa.String(2000), nullable=False),
        sa.Column('subjects_informed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', Id, nullable=True),
        sa.CheckConstraint("decision IN ('open', 'reported', 'not_reportable')",
                           name=op.f('ck_data_breach_versions_decision')),
        sa.CheckConstraint('version >= 1', name=op.f('ck_data_breach_versions_version')),
        sa.CheckConstraint('persons_affected IS NULL OR persons_affected >= 0',
                           name=op.f('ck_data_breach_versions_persons')),
        sa.CheckConstraint("decision <> 'reported' OR reported_at IS NOT NULL",
                           name=op.f('ck_data_breach_versions_reported_when')),
        sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                                name=op.f('fk_data_breach_versions_school_id_organisations')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_data_breach_versions_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['school_id', 'breach_id'], ['data_breaches.school_id', 'data_breaches.id'],
                                name='fk_data_breach_versions_breach'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_breach_versions')),
        sa.UniqueConstraint('school_id', 'breach_id', 'version',
                            name=op.f('uq_data_breach_versions_school_id_breach_id_version')),
        sa.UniqueConstraint('school_id', 'id', name=op.f('uq_data_breach_versions_school_id_id')),
    )
    op.create_index(op.f('ix_data_breach_versions_school_id'), 'data_breach_versions', ['school_id'])
    op.create_index(op.f('ix_data_breach_versions_breach_id'), 'data_breach_versions', ['breach_id'])
    op.create_table(
        'privacy_contacts',
        sa.Column('id', Id, nullable=False),
        sa.Column('school_id', Id, nullable=False),
        sa.Column('controller_name', sa.String(300), nullable=False),
        sa.Column('controller_contact', sa.String(300), nullable=False),
        sa.Column('dpo_name', sa.String(300), nullable=False),
        sa.Column('dpo_contact', sa.String(300), nullable=False),
        sa.Column('other_recipients', sa.String(2000), nullable=False),
        sa.Column('school_measures', sa.String(2000), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', Id, nullable=True),
        sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                                name=op.f('fk_privacy_contacts_school_id_organisations')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_privacy_contacts_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_contacts')),
        sa.UniqueConstraint('school_id', name=op.f('uq_privacy_contacts_school_id')),
        sa.UniqueConstraint('school_id', 'id', name=op.f('uq_privacy_contacts_school_id_id')),
    )
    op.create_index(op.f('ix_privacy_contacts_school_id'), 'privacy_contacts', ['school_id'])

    if op.get_bind().dialect.name == "postgresql":
        for table in (*REGISTER, "privacy_contacts"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY migration_runner ON {table} FOR ALL TO CURRENT_USER "
                       f"USING ({SEES_ALL}) WITH CHECK ({SEES_ALL})")
        for table in REGISTER:
            op.execute(f"CREATE POLICY school_reads ON {table} FOR SELECT USING (school_id = {SCHOOL})")
            op.execute(f"CREATE POLICY school_records ON {table} FOR INSERT WITH CHECK (school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY tenant_isolation ON privacy_contacts USING (school_id = {SCHOOL}) "
                   f"WITH CHECK (school_id = {SCHOOL})")
        op.execute("""
            CREATE FUNCTION privacy_register_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is insert-only: a change is a new version', TG_TABLE_NAME;
            END $$""")
        for table in REGISTER:
            op.execute(f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION privacy_register_insert_only()")


def downgrade() -> None:
    op.drop_index(op.f('ix_privacy_contacts_school_id'), table_name='privacy_contacts')
    op.drop_table('privacy_contacts')
    op.drop_index(op.f('ix_data_breach_versions_breach_id'), table_name='data_breach_versions')
    op.drop_index(op.f('ix_data_breach_versions_school_id'), table_name='data_breach_versions')
    op.drop_table('data_breach_versions')
    op.drop_index(op.f('ix_data_breaches_school_id'), table_name='data_breaches')
    op.drop_table('data_breaches')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS privacy_register_insert_only()")
