"""Migrations see every tenant's rows (docs/security.md T1.16): a `migration_runner` policy on
every table under row-level security admits the owner role, and only it, while the runner's
transaction has set `legitka.migration` (infra.migrate). Then the data part of 0008 that could not
run: `order_facts` rebuilt from `card_facts` and `school_stats.hologram_counts` from the holograms,
the same sums as the statistics refresh (reports.statistics), so no refresh by hand is needed.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SEES_ALL = "current_setting('legitka.migration', true) = 'on'"
LIVE = "('ordered', 'printed', 'delivered', 'handed_over')"  # tenants.registry.models.LIVE_CARD_STATUSES
RLS_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relrowsecurity ORDER BY c.relname"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for (table,) in bind.exec_driver_sql(RLS_TABLES).all():
        # TO CURRENT_USER: the owner running this migration; the app role is not named, so for it
        # the policy does not exist, whatever it sets (docs/security.md T1.1).
        op.execute(f'CREATE POLICY migration_runner ON "{table}" FOR ALL TO CURRENT_USER '
                   f"USING ({SEES_ALL}) WITH CHECK ({SEES_ALL})")
    # 0008's summaries, as reports.statistics._rebuild_order_facts and _hologram_counts compute them.
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
    op.execute("""
        UPDATE school_stats s SET hologram_counts = coalesce((
            SELECT json_object_agg(y.school_year::text, y.states ORDER BY y.school_year)
            FROM (SELECT h.school_year, json_object_agg(h.state, h.n ORDER BY h.state) AS states
                  FROM (SELECT school_year, state, count(*) AS n FROM holograms
                        WHERE school_id = s.school_id GROUP BY school_year, state) h
                  GROUP BY h.school_year) y), '{}'::json)""")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for (table,) in bind.exec_driver_sql(RLS_TABLES).all():
        op.execute(f'DROP POLICY IF EXISTS migration_runner ON "{table}"')
