"""The city's cost model and dashboard (issue 6): price-list terms (season window, VAT, parcels,
tier validity), full cost profiles for in-house printers and the city print centre, the city's
yearly budget, and anonymous statistics (per-school counts, one fact row per card).

school_stats, card_facts: the school all operations; the city reads.
centre_cost_profiles, city_budgets: the city all operations.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"


def _cost_columns():
    money = lambda name, size=8: sa.Column(name, sa.Numeric(size, 2), nullable=False, server_default="0.00")  # noqa: E731
    return [
        sa.Column('model', sa.String(100), nullable=False, server_default=''),
        money('purchase_price', 10),
        sa.Column('purchased_on', sa.Date(), nullable=True),
        sa.Column('amortisation_years', sa.Integer(), nullable=False, server_default='5'),
        money('licence_per_year', 10),
        money('starter_kit_price', 10),
        money('blank_price'),
        money('hologram_price'),
        money('ribbon_price'),
        sa.Column('ribbon_yield', sa.Integer(), nullable=False, server_default='250'),
        sa.Column('staff_minutes_per_card', sa.Numeric(5, 2), nullable=False, server_default="0.00"),
        money('hourly_rate'),
        sa.Column('spoilage_percent', sa.Numeric(5, 2), nullable=False, server_default="0.00"),
        sa.Column('lead_time_days', sa.Integer(), nullable=False, server_default='3'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('season_from', sa.String(5), nullable=False, server_default='08-15'))
        batch.add_column(sa.Column('season_until', sa.String(5), nullable=False, server_default='10-31'))
        batch.add_column(sa.Column('vat_rate', sa.Numeric(4, 2), nullable=False, server_default='23.00'))
        batch.add_column(sa.Column('parcel_capacity', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('price_tiers') as batch:
        batch.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch.add_column(sa.Column('valid_until', sa.Date(), nullable=True))
        batch.drop_constraint('uq_price_tiers_printer_id_min_quantity', type_='unique')
        batch.create_unique_constraint('uq_price_tiers_printer_id_min_quantity_valid_from',
                                       ['printer_id', 'min_quantity', 'valid_from'])
    with op.batch_alter_table('school_printers') as batch:
        batch.add_column(sa.Column('amortisation_years', sa.Integer(), nullable=False, server_default='5'))
        batch.add_column(sa.Column('staff_minutes_per_card', sa.Numeric(5, 2), nullable=False, server_default="0.00"))
        batch.add_column(sa.Column('hourly_rate', sa.Numeric(8, 2), nullable=False, server_default="0.00"))

    op.create_table('centre_cost_profiles',
    sa.Column('id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=False),
    *_cost_columns(),
    sa.CheckConstraint('ribbon_yield > 0', name=op.f('ck_centre_cost_profiles_ribbon_yield_positive')),
    sa.CheckConstraint('amortisation_years > 0', name=op.f('ck_centre_cost_profiles_amortisation_positive')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_centre_cost_profiles_city_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'],
                            name=op.f('fk_centre_cost_profiles_printer_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_centre_cost_profiles')),
    sa.UniqueConstraint('city_id', 'printer_id', name=op.f('uq_centre_cost_profiles_city_id_printer_id')),
    )
    op.create_index(op.f('ix_centre_cost_profiles_city_id'), 'centre_cost_profiles', ['city_id'])

    op.create_table('city_budgets',
    sa.Column('id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(12, 2), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('target_percent', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_city_budgets_amount_non_negative')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_city_budgets_city_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_city_budgets')),
    sa.UniqueConstraint('city_id', 'year', name=op.f('uq_city_budgets_city_id_year')),
    )
    op.create_index(op.f('ix_city_budgets_city_id'), 'city_budgets', ['city_id'])

    counts = ['pupils_active', 'pupils_needing_card', 'pupils_without_photo', 'paper_cards', 'mleg_registered',
              'applications_open', 'applications_total', 'cards_ordered', 'cards_delivered', 'cards_handed_over',
              'duplicates_paid']
    op.create_table('school_stats',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in counts],
    sa.Column('duplicate_fees', sa.Numeric(10, 2), nullable=False),
    sa.Column('forecast_first_year', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_school_stats_school_id_organisations')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_school_stats_city_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_stats')),
    sa.UniqueConstraint('school_id', name=op.f('uq_school_stats_school_id')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_school_stats_school_id_id')),
    )
    op.create_index(op.f('ix_school_stats_city_id'), 'school_stats', ['city_id'])

    op.create_table('card_facts',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('card_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('channel', sa.String(12), nullable=False),
    sa.Column('printer_id', Id, nullable=True),
    sa.Column('kind', sa.String(12), nullable=False),
    sa.Column('status', sa.String(12), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('handed_over_on', sa.Date(), nullable=True),
    sa.Column('promised_days', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Numeric(10, 2), nullable=False),
    sa.Column('fee', sa.Numeric(8, 2), nullable=False),
    sa.Column('print_rejections', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_card_facts_school_id_organisations')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_card_facts_city_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_card_facts_printer_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_facts')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_card_facts_school_id_id')),
    sa.UniqueConstraint('school_id', 'card_id', name=op.f('uq_card_facts_school_id_card_id')),
    )
    op.create_index(op.f('ix_card_facts_school_id'), 'card_facts', ['school_id'])
    op.create_index(op.f('ix_card_facts_city_id'), 'card_facts', ['city_id'])
    op.create_index(op.f('ix_card_facts_order_id'), 'card_facts', ['order_id'])

    if op.get_bind().dialect.name == "postgresql":
        for table in ("school_stats", "card_facts"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING (school_id = {SCHOOL}) "
                       f"WITH CHECK (school_id = {SCHOOL})")
            op.execute(f"CREATE POLICY city_reads ON {table} FOR SELECT USING (city_id = {CITY})")
        for table in ("centre_cost_profiles", "city_budgets"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY city_owns ON {table} USING (city_id = {CITY}) WITH CHECK (city_id = {CITY})")


def downgrade() -> None:
    for index, table in (('ix_card_facts_order_id', 'card_facts'), ('ix_card_facts_city_id', 'card_facts'),
                         ('ix_card_facts_school_id', 'card_facts')):
        op.drop_index(op.f(index), table_name=table)
    op.drop_table('card_facts')
    op.drop_index(op.f('ix_school_stats_city_id'), table_name='school_stats')
    op.drop_table('school_stats')
    op.drop_index(op.f('ix_city_budgets_city_id'), table_name='city_budgets')
    op.drop_table('city_budgets')
    op.drop_index(op.f('ix_centre_cost_profiles_city_id'), table_name='centre_cost_profiles')
    op.drop_table('centre_cost_profiles')
    with op.batch_alter_table('school_printers') as batch:
        for column in ('hourly_rate', 'staff_minutes_per_card', 'amortisation_years'):
            batch.drop_column(column)
    with op.batch_alter_table('price_tiers') as batch:
        batch.drop_constraint('uq_price_tiers_printer_id_min_quantity_valid_from', type_='unique')
        batch.create_unique_constraint('uq_price_tiers_printer_id_min_quantity', ['printer_id', 'min_quantity'])
        batch.drop_column('valid_until')
        batch.drop_column('valid_from')
    with op.batch_alter_table('organisations') as batch:
        for column in ('parcel_capacity', 'vat_rate', 'season_until', 'season_from'):
            batch.drop_column(column)
