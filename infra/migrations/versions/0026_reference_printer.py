"""The city's reference "own printer" for the break-even (issue 17, docs/city.md): one editable
cost profile per city (`reference_printers`); without a row the code uses the Szczecin letter's
single-printer figures (printing.pricing.SINGLE_PRINTER).

reference_printers: the city all operations (and the owner's `migration_runner` policy, as 0014
gave every table under row-level security).

The one rounding rule (docs/city.md): a card fact's cost becomes its exact share of its order's
total (the total in whole grosze over the order's facts, the odd grosze to the smaller card ids,
reports.statistics.card_costs), where it was the total ÷ cards rounded, so an order's cards add up
to its invoice; the order facts are summed up again from them (as 0014 does).

Revision ID: 0026
Revises: 0025
"""
from decimal import ROUND_HALF_UP
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"
SEES_ALL = "current_setting('legitka.migration', true) = 'on'"
LIVE = "('ordered', 'printed', 'delivered', 'handed_over')"  # tenants.registry.models.LIVE_CARD_STATUSES


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
        op.execute(f"CREATE POLICY migration_runner ON reference_printers FOR ALL TO CURRENT_USER "
                   f"USING ({SEES_ALL}) WITH CHECK ({SEES_ALL})")
    _exact_card_shares()


def _exact_card_shares() -> None:
    """Card facts' costs as exact shares of their orders' totals; order facts summed up again."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT f.id, f.order_id, f.card_id, f.cost, o.total_price FROM card_facts f "
        "JOIN print_orders o ON o.id = f.order_id ORDER BY f.order_id, f.card_id")).all()
    orders: dict[int, list] = {}
    for row in rows:
        orders.setdefault(row.order_id, []).append(row)
    changed = []
    for facts in orders.values():
        grosze = int((Decimal(facts[0].total_price or 0) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        base, extra = divmod(grosze, len(facts))
        for i, fact in enumerate(facts):
            cost = (Decimal(base + (1 if i < extra else 0)) / 100).quantize(Decimal("0.01"))
            if Decimal(fact.cost or 0) != cost:
                changed.append({"id": fact.id, "cost": cost})
    if not changed:
        return
    bind.execute(sa.text("UPDATE card_facts SET cost = :cost WHERE id = :id"), changed)
    op.execute("DELETE FROM order_facts")
    op.execute(f"""
        INSERT INTO order_facts (school_id, city_id, order_id, channel, printer_id, submitted_on, delivered_on,
                                 promised_days, cards, cost, paid, fees, live_waiting, spoiled, rejected)
        SELECT school_id, city_id, order_id, channel, printer_id, submitted_on, delivered_on, promised_days,
               count(*), coalesce(sum(cost), 0), coalesce(sum(CASE WHEN fee > 0 THEN 1 ELSE 0 END), 0),
               coalesce(sum(fee), 0),
               coalesce(sum(CASE WHEN status IN {LIVE} AND delivered_on IS NULL THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN status = 'spoiled' THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN print_rejections > 0 THEN 1 ELSE 0 END), 0)
        FROM card_facts
        GROUP BY school_id, city_id, order_id, channel, printer_id, submitted_on, delivered_on, promised_days""")


def downgrade() -> None:
    op.drop_table('reference_printers')
