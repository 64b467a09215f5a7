"""The city's reference "own printer" for the break-even (issue 17, docs/city.md): one editable
cost profile per city (`reference_printers`); without a row the code uses the Szczecin letter's
single-printer figures (printing.pricing.SINGLE_PRINTER).

reference_printers: the city all operations.

Revision ID: 0026
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0018'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"


def _cost_columns():
    def money(name, size=8):
        return sa.Column(name, sa.Numeric(size, 2), nullable=False, server_default="0.00")
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
    op.create_table(
        'reference_printers',
        sa.Column('id', Id, nullable=False),
        sa.Column('city_id', Id, nullable=False),
        *_cost_columns(),
        sa.CheckConstraint('ribbon_yield > 0', name=op.f('ck_reference_printers_ribbon_yield_positive')),
        sa.CheckConstraint('amortisation_years > 0', name=op.f('ck_reference_printers_amortisation_positive')),
        sa.ForeignKeyConstraint(['city_id'], ['organisations.id'],
                                name=op.f('fk_reference_printers_city_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_printers')),
        sa.UniqueConstraint('city_id', name=op.f('uq_reference_printers_city_id')),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reference_printers ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE reference_printers FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY city_owns ON reference_printers USING (city_id = {CITY}) "
                   f"WITH CHECK (city_id = {CITY})")


def downgrade() -> None:
    op.drop_table('reference_printers')
