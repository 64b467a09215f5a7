"""Consultations with school directors (docs/city.md, *Konsultacje z dyrektorami*): the city's
`consultations` and its schools' `consultation_answers`.

consultations: the city all operations; a school of the city reads the opened ones (not drafts).
consultation_answers: the school all operations on its own answer, and only with its own city and
a consultation of that city (the composite foreign key); the city reads its schools' answers.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"
SEES_ALL = "current_setting('legitka.migration', true) = 'on'"  # the owner's data migrations (0014)
SCHOOLS_CITY = f"(SELECT o.city_id FROM organisations o WHERE o.id = {SCHOOL})"


def upgrade() -> None:
    op.create_table(
        'consultations',
        sa.Column('id', Id, nullable=False),
        sa.Column('city_id', Id, nullable=False),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('intro', sa.String(2000), nullable=False, server_default=''),
        sa.Column('extra_question', sa.String(300), nullable=False, server_default=''),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('status', sa.String(10), nullable=False, server_default='draft'),
        sa.Column('created_by_id', Id, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_consultations_status')),
        sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_consultations_city_id_organisations')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_consultations_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
        sa.UniqueConstraint('city_id', 'id', name=op.f('uq_consultations_city_id_id')),
    )
    op.create_index(op.f('ix_consultations_city_id'), 'consultations', ['city_id'])
    op.create_table(
        'consultation_answers',
        sa.Column('id', Id, nullable=False),
        sa.Column('school_id', Id, nullable=False),
        sa.Column('city_id', Id, nullable=False),
        sa.Column('consultation_id', Id, nullable=False),
        sa.Column('satisfaction', sa.Integer(), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=False),
        sa.Column('problems_text', sa.String(1000), nullable=False, server_default=''),
        sa.Column('staff_hours', sa.Numeric(4, 1), nullable=False),
        sa.Column('preference', sa.String(16), nullable=False),
        sa.Column('comments', sa.String(2000), nullable=False, server_default=''),
        sa.Column('extra_answer', sa.String(2000), nullable=False, server_default=''),
        sa.Column('answered_by_id', Id, nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('satisfaction BETWEEN 1 AND 5', name=op.f('ck_consultation_answers_satisfaction')),
        sa.CheckConstraint('staff_hours >= 0', name=op.f('ck_consultation_answers_staff_hours')),
        sa.CheckConstraint("preference IN ('keep_own', 'city_order', 'print_centre', 'no_opinion')",
                           name=op.f('ck_consultation_answers_preference')),
        sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                                name=op.f('fk_consultation_answers_school_id_organisations')),
        sa.ForeignKeyConstraint(['city_id'], ['organisations.id'],
                                name=op.f('fk_consultation_answers_city_id_organisations')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'],
                                name=op.f('fk_consultation_answers_answered_by_id_users')),
        sa.ForeignKeyConstraint(['city_id', 'consultation_id'], ['consultations.city_id', 'consultations.id'],
                                name='fk_consultation_answers_consultation', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_answers')),
        sa.UniqueConstraint('school_id', 'consultation_id', name=op.f('uq_consultation_answers_school_id_consultation_id')),
        sa.UniqueConstraint('school_id', 'id', name=op.f('uq_consultation_answers_school_id_id')),
    )
    for column in ('school_id', 'city_id', 'consultation_id'):
        op.create_index(op.f(f'ix_consultation_answers_{column}'), 'consultation_answers', [column])

    if op.get_bind().dialect.name == "postgresql":
        for table in ("consultations", "consultation_answers"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY city_owns ON consultations USING (city_id = {CITY}) WITH CHECK (city_id = {CITY})")
        op.execute(f"CREATE POLICY school_reads ON consultations FOR SELECT "
                   f"USING (status <> 'draft' AND city_id = {SCHOOLS_CITY})")
        op.execute(f"CREATE POLICY tenant_isolation ON consultation_answers USING (school_id = {SCHOOL}) "
                   f"WITH CHECK (school_id = {SCHOOL} AND city_id = {SCHOOLS_CITY})")
        op.execute(f"CREATE POLICY city_reads ON consultation_answers FOR SELECT USING (city_id = {CITY})")
        for table in ("consultations", "consultation_answers"):
            op.execute(f"CREATE POLICY migration_runner ON {table} FOR ALL TO CURRENT_USER "
                       f"USING ({SEES_ALL}) WITH CHECK ({SEES_ALL})")


def downgrade() -> None:
    for column in ('consultation_id', 'city_id', 'school_id'):
        op.drop_index(op.f(f'ix_consultation_answers_{column}'), table_name='consultation_answers')
    op.drop_table('consultation_answers')
    op.drop_index(op.f('ix_consultations_city_id'), table_name='consultations')
    op.drop_table('consultations')
