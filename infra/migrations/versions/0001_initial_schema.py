"""Initial schema: organisations, users, pupils, applications, registry, print orders; RLS.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 20:24:54.913589
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_role', sa.String(length=30), nullable=False),
    sa.Column('actor_organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pupil_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    op.create_index(op.f('ix_access_log_school_id'), 'access_log', ['school_id'], unique=False)
    op.create_table('organisations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('city_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('school_type', sa.String(length=20), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=6), nullable=False),
    sa.Column('town', sa.String(length=100), nullable=False),
    sa.Column('director_name', sa.String(length=200), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('is_city_print_centre', sa.Boolean(), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind <> 'school' OR city_id IS NOT NULL", name=op.f('ck_organisations_school_has_city')),
    sa.CheckConstraint("kind IN ('city', 'school', 'printer')", name=op.f('ck_organisations_kind')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_organisations_city_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organisations_slug'))
    )
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_platform_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('city_printers',
    sa.Column('city_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('printer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_city_printers_city_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_city_printers_printer_id_organisations')),
    sa.PrimaryKeyConstraint('city_id', 'printer_id', name=op.f('pk_city_printers'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_memberships_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('user_id', 'organisation_id', 'role', name=op.f('uq_memberships_user_id_organisation_id_role'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_count', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_outbox_school_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index(op.f('ix_outbox_school_id'), 'outbox', ['school_id'], unique=False)
    op.create_table('price_tiers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('printer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('min_quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.CheckConstraint('min_quantity >= 1', name=op.f('ck_price_tiers_min_quantity_positive')),
    sa.CheckConstraint('unit_price > 0', name=op.f('ck_price_tiers_unit_price_positive')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_price_tiers_printer_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_tiers')),
    sa.UniqueConstraint('printer_id', 'min_quantity', name=op.f('uq_price_tiers_printer_id_min_quantity'))
    )
    op.create_index(op.f('ix_price_tiers_printer_id'), 'price_tiers', ['printer_id'], unique=False)
    op.create_table('print_orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('city_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('printer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('card_count', sa.Integer(), nullable=False),
    sa.Column('handed_over_count', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('total_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('first_number', sa.Integer(), nullable=True),
    sa.Column('last_number', sa.Integer(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('submitted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=False),
    sa.Column('pdf_key', sa.String(length=200), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('manifest_key', sa.String(length=200), nullable=True),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('card_count >= 0', name=op.f('ck_print_orders_card_count_non_negative')),
    sa.CheckConstraint('handed_over_count >= 0 AND handed_over_count <= card_count', name=op.f('ck_print_orders_handed_over_bounds')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_print_orders_city_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_print_orders_created_by_id_users')),
    sa.ForeignKeyConstraint(['delivered_by_id'], ['users.id'], name=op.f('fk_print_orders_delivered_by_id_users')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_print_orders_printer_id_organisations')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_print_orders_school_id_organisations')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_print_orders_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_orders')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_print_orders_school_id_id'))
    )
    op.create_index(op.f('ix_print_orders_city_id'), 'print_orders', ['city_id'], unique=False)
    op.create_index(op.f('ix_print_orders_printer_id'), 'print_orders', ['printer_id'], unique=False)
    op.create_index(op.f('ix_print_orders_school_id'), 'print_orders', ['school_id'], unique=False)
    op.create_table('pupils',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_names', sa.String(length=100), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('pesel_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('pesel_index', sa.String(length=64), nullable=True),
    sa.Column('class_name', sa.String(length=20), nullable=False),
    sa.Column('learner_type', sa.String(length=12), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('photo_key', sa.String(length=200), nullable=True),
    sa.Column('photo_uploaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("sex IN ('K', 'M')", name=op.f('ck_pupils_sex')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_pupils_school_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pupils')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_pupils_school_id_id')),
    sa.UniqueConstraint('school_id', 'pesel_index', name=op.f('uq_pupils_school_id_pesel_index'))
    )
    op.create_index(op.f('ix_pupils_school_id'), 'pupils', ['school_id'], unique=False)
    op.create_table('school_counters',
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_no', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_no >= 0', name=op.f('ck_school_counters_last_no_non_negative')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_school_counters_school_id_organisations')),
    sa.PrimaryKeyConstraint('school_id', name=op.f('pk_school_counters'))
    )
    op.create_table('applications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pupil_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('fee_amount', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=300), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_applications_created_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_applications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['school_id', 'order_id'], ['print_orders.school_id', 'print_orders.id'], name=op.f('fk_applications_school_id_order_id_print_orders')),
    sa.ForeignKeyConstraint(['school_id', 'pupil_id'], ['pupils.school_id', 'pupils.id'], name=op.f('fk_applications_school_id_pupil_id_pupils')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_applications_school_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_applications_school_id_id'))
    )
    op.create_index(op.f('ix_applications_school_id'), 'applications', ['school_id'], unique=False)
    op.create_table('user_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_user_sessions_membership_id_memberships')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions'))
    )
    op.create_table('cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_code', sa.String(length=12), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('handed_over_on', sa.Date(), nullable=True),
    sa.Column('collected_by', sa.String(length=200), nullable=False),
    sa.Column('handover_recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('number > 0', name=op.f('ck_cards_number_positive')),
    sa.ForeignKeyConstraint(['handover_recorded_by_id'], ['users.id'], name=op.f('fk_cards_handover_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['school_id', 'application_id'], ['applications.school_id', 'applications.id'], name=op.f('fk_cards_school_id_application_id_applications')),
    sa.ForeignKeyConstraint(['school_id', 'order_id'], ['print_orders.school_id', 'print_orders.id'], name=op.f('fk_cards_school_id_order_id_print_orders')),
    sa.ForeignKeyConstraint(['school_id', 'pupil_id'], ['pupils.school_id', 'pupils.id'], name=op.f('fk_cards_school_id_pupil_id_pupils')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_cards_school_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_cards_school_id_id')),
    sa.UniqueConstraint('school_id', 'number', name=op.f('uq_cards_school_id_number'))
    )
    op.create_index(op.f('ix_cards_school_id'), 'cards', ['school_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _enable_rls()


# Row-level security (PostgreSQL only): a plain column comparison against settings made per
# transaction by `tenants.tenancy.scoping`. Unset settings are '' or NULL, which match no row.
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
PRINTER = "NULLIF(current_setting('app.printer_id', true), '')::bigint"
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"
SYSTEM = "current_setting('app.scope', true) = 'system'"

POLICIES = {
    "pupils": f"school_id = {SCHOOL}",
    "applications": f"school_id = {SCHOOL}",
    "cards": f"school_id = {SCHOOL}",
    "school_counters": f"school_id = {SCHOOL}",
    "print_orders": f"school_id = {SCHOOL} OR printer_id = {PRINTER} OR city_id = {CITY}",
    "outbox": f"school_id = {SCHOOL} OR {SYSTEM}",
}


def _enable_rls() -> None:
    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({rule}) WITH CHECK ({rule})")
    # The access log: a school reads the rows about its pupils; a printer or city reads and writes
    # only rows of its own actions (a printer's batch download), never in another's name. The
    # rows hold ids, no personal data. (INSERT ... RETURNING needs the SELECT policy too.)
    own = f"school_id = {SCHOOL} OR actor_organisation_id = {PRINTER} OR actor_organisation_id = {CITY}"
    op.execute("ALTER TABLE access_log ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE access_log FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY read_own ON access_log FOR SELECT USING ({own})")
    op.execute(f"CREATE POLICY write_as_self ON access_log FOR INSERT WITH CHECK ({own})")
    op.execute("""
        CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'access_log is append-only';
        END $$""")
    op.execute("CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log"
               " FOR EACH ROW EXECUTE FUNCTION access_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_log_no_change ON access_log")
        op.execute("DROP FUNCTION IF EXISTS access_log_append_only()")
    op.drop_index(op.f('ix_cards_school_id'), table_name='cards')
    op.drop_table('cards')
    op.drop_table('user_sessions')
    op.drop_index(op.f('ix_applications_school_id'), table_name='applications')
    op.drop_table('applications')
    op.drop_table('school_counters')
    op.drop_index(op.f('ix_pupils_school_id'), table_name='pupils')
    op.drop_table('pupils')
    op.drop_index(op.f('ix_print_orders_school_id'), table_name='print_orders')
    op.drop_index(op.f('ix_print_orders_printer_id'), table_name='print_orders')
    op.drop_index(op.f('ix_print_orders_city_id'), table_name='print_orders')
    op.drop_table('print_orders')
    op.drop_index(op.f('ix_price_tiers_printer_id'), table_name='price_tiers')
    op.drop_table('price_tiers')
    op.drop_index(op.f('ix_outbox_school_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('memberships')
    op.drop_table('city_printers')
    op.drop_table('users')
    op.drop_table('organisations')
    op.drop_index(op.f('ix_access_log_school_id'), table_name='access_log')
    op.drop_table('access_log')
