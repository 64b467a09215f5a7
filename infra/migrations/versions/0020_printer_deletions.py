"""The printer's confirmation that it deleted its copy of an order's data after delivery
(docs/domain.md §23; docs/security.md T3.8): new table `printer_deletions`, one row per order.

On PostgreSQL, row-level security lets the order's school, its city and the printer read the row;
only the printer inserts it, and only for its own order in the state `delivered` (the policy
checks the order itself); no UPDATE or DELETE policy, so nobody changes or removes a
confirmation (and `infra.migrate.grant_app_role` gives the app role only INSERT and SELECT on it). Like every table under RLS it gets the owner's `migration_runner` policy (0014).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
PRINTER = "NULLIF(current_setting('app.printer_id', true), '')::bigint"
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"
SEES_ALL = "current_setting('legitka.migration', true) = 'on'"


def upgrade() -> None:
    op.create_table('printer_deletions',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by_id', Id, nullable=True),
    sa.Column('via', sa.String(3), nullable=False),
    sa.Column('api_client', sa.String(48), nullable=False),
    sa.Column('method', sa.String(200), nullable=False),
    sa.Column('statement', sa.String(1000), nullable=False),
    sa.CheckConstraint("via IN ('web', 'api')", name=op.f('ck_printer_deletions_via_known')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                            name=op.f('fk_printer_deletions_school_id_organisations')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_printer_deletions_city_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'],
                            name=op.f('fk_printer_deletions_printer_id_organisations')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_printer_deletions_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['school_id', 'order_id'], ['print_orders.school_id', 'print_orders.id'],
                            name=op.f('fk_printer_deletions_school_id_print_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_printer_deletions')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_printer_deletions_school_id_id')),
    sa.UniqueConstraint('school_id', 'order_id', name=op.f('uq_printer_deletions_school_id_order_id')),
    )
    op.create_index(op.f('ix_printer_deletions_school_id'), 'printer_deletions', ['school_id'])
    op.create_index(op.f('ix_printer_deletions_city_id'), 'printer_deletions', ['city_id'])
    op.create_index(op.f('ix_printer_deletions_printer_id'), 'printer_deletions', ['printer_id'])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE printer_deletions ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE printer_deletions FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY school_reads ON printer_deletions FOR SELECT USING (school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY city_reads ON printer_deletions FOR SELECT USING (city_id = {CITY})")
        op.execute(f"CREATE POLICY printer_reads ON printer_deletions FOR SELECT USING (printer_id = {PRINTER})")
        # The printer confirms only its own delivered order, with the order's own school and city
        # (the subquery runs under the printer's policy on print_orders).
        op.execute(f"""
            CREATE POLICY printer_confirms ON printer_deletions FOR INSERT WITH CHECK (
                printer_id = {PRINTER} AND EXISTS (
                    SELECT 1 FROM print_orders o
                    WHERE o.id = printer_deletions.order_id AND o.school_id = printer_deletions.school_id
                      AND o.city_id = printer_deletions.city_id AND o.printer_id = printer_deletions.printer_id
                      AND o.status = 'delivered'))""")
        op.execute('CREATE POLICY migration_runner ON printer_deletions FOR ALL TO CURRENT_USER '
                   f"USING ({SEES_ALL}) WITH CHECK ({SEES_ALL})")


def downgrade() -> None:
    op.drop_index(op.f('ix_printer_deletions_printer_id'), table_name='printer_deletions')
    op.drop_index(op.f('ix_printer_deletions_city_id'), table_name='printer_deletions')
    op.drop_index(op.f('ix_printer_deletions_school_id'), table_name='printer_deletions')
    op.drop_table('printer_deletions')
