"""Printing in production (issue 5): printers' terms and calibration, frozen quotes, the
printer's per-card results, invoices, retention receipts, schools' own printers, API clients.

order_items: the school all operations; the printer reads and reports on its own rows.
deletion_receipts, school_printers: the school all operations; the city reads.
api_clients, api_tokens: credentials like users and sessions, looked up by hash before any
tenant is known; no personal data, no RLS.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
PRINTER = "NULLIF(current_setting('app.printer_id', true), '')::bigint"
CITY = "NULLIF(current_setting('app.city_id', true), '')::bigint"


def _money(name, scale=8, default="0.00"):
    return sa.Column(name, sa.Numeric(scale, 2), nullable=False, server_default=default)


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(_money('season_surcharge'))
        batch.add_column(_money('shipping_price'))
        batch.add_column(sa.Column('preprinted_blanks', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('offset_x_mm', sa.Numeric(4, 2), nullable=False, server_default="0.00"))
        batch.add_column(sa.Column('offset_y_mm', sa.Numeric(4, 2), nullable=False, server_default="0.00"))
        batch.add_column(sa.Column('bleed_mm', sa.Numeric(4, 2), nullable=False, server_default="0.00"))
    with op.batch_alter_table('print_orders') as batch:
        batch.alter_column('printer_id', existing_type=Id, nullable=True)
        batch.add_column(sa.Column('channel', sa.String(12), nullable=False, server_default='external'))
        batch.add_column(sa.Column('quote', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('reprint_of_id', Id, nullable=True))
        batch.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('rejection_reason', sa.String(300), nullable=False, server_default=''))
        batch.add_column(sa.Column('carrier', sa.String(60), nullable=False, server_default=''))
        batch.add_column(sa.Column('tracking_number', sa.String(80), nullable=False, server_default=''))
        batch.add_column(sa.Column('invoice_number', sa.String(60), nullable=False, server_default=''))
        batch.add_column(sa.Column('invoice_net', sa.Numeric(10, 2), nullable=True))
        batch.add_column(sa.Column('invoice_vat', sa.Numeric(10, 2), nullable=True))
        batch.add_column(sa.Column('invoice_gross', sa.Numeric(10, 2), nullable=True))
        batch.add_column(sa.Column('invoice_recorded_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('invoice_mismatch', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('purge_after', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('order_items',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=True),
    sa.Column('card_id', Id, nullable=False),
    sa.Column('card_label', sa.String(30), nullable=False),
    sa.Column('template_code', sa.String(12), nullable=False),
    sa.Column('outcome', sa.String(10), nullable=False),
    sa.Column('blank_serial', sa.String(40), nullable=False),
    sa.Column('chip_uid', sa.String(40), nullable=False),
    sa.Column('reason', sa.String(300), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_by_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_order_items_school_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_order_items_printer_id_organisations')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_order_items_reported_by_id_users')),
    sa.ForeignKeyConstraint(['school_id', 'order_id'], ['print_orders.school_id', 'print_orders.id'],
                            name=op.f('fk_order_items_school_id_print_orders')),
    sa.ForeignKeyConstraint(['school_id', 'card_id'], ['cards.school_id', 'cards.id'],
                            name=op.f('fk_order_items_school_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_order_items_school_id_id')),
    sa.UniqueConstraint('school_id', 'order_id', 'card_id', name=op.f('uq_order_items_school_id_order_id_card_id')),
    )
    op.create_index(op.f('ix_order_items_school_id'), 'order_items', ['school_id'])
    op.create_index(op.f('ix_order_items_order_id'), 'order_items', ['order_id'])
    op.create_index(op.f('ix_order_items_printer_id'), 'order_items', ['printer_id'])

    op.create_table('deletion_receipts',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                            name=op.f('fk_deletion_receipts_school_id_organisations')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_deletion_receipts_city_id_organisations')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'],
                            name=op.f('fk_deletion_receipts_printer_id_organisations')),
    sa.ForeignKeyConstraint(['school_id', 'order_id'], ['print_orders.school_id', 'print_orders.id'],
                            name=op.f('fk_deletion_receipts_school_id_print_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_receipts')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_deletion_receipts_school_id_id')),
    sa.UniqueConstraint('school_id', 'order_id', name=op.f('uq_deletion_receipts_school_id_order_id')),
    )
    op.create_index(op.f('ix_deletion_receipts_school_id'), 'deletion_receipts', ['school_id'])
    op.create_index(op.f('ix_deletion_receipts_city_id'), 'deletion_receipts', ['city_id'])

    op.create_table('school_printers',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('city_id', Id, nullable=False),
    sa.Column('model', sa.String(100), nullable=False),
    _money('purchase_price', 10),
    sa.Column('purchased_on', sa.Date(), nullable=True),
    _money('licence_per_year', 10),
    _money('starter_kit_price', 10),
    _money('blank_price'),
    _money('hologram_price'),
    _money('ribbon_price'),
    sa.Column('ribbon_yield', sa.Integer(), nullable=False),
    sa.Column('spoilage_percent', sa.Numeric(5, 2), nullable=False, server_default="0.00"),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ribbon_yield > 0', name=op.f('ck_school_printers_ribbon_yield_positive')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_school_printers_school_id_organisations')),
    sa.ForeignKeyConstraint(['city_id'], ['organisations.id'], name=op.f('fk_school_printers_city_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_printers')),
    sa.UniqueConstraint('school_id', name=op.f('uq_school_printers_school_id')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_school_printers_school_id_id')),
    )
    op.create_index(op.f('ix_school_printers_city_id'), 'school_printers', ['city_id'])

    op.create_table('api_clients',
    sa.Column('id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=False),
    sa.Column('client_id', sa.String(48), nullable=False),
    sa.Column('secret_hash', sa.String(200), nullable=False),
    sa.Column('name', sa.String(100), nullable=False),
    sa.Column('scope', sa.String(100), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_api_clients_printer_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_clients_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_clients_client_id')),
    )
    op.create_index(op.f('ix_api_clients_printer_id'), 'api_clients', ['printer_id'])
    op.create_table('api_tokens',
    sa.Column('id', Id, nullable=False),
    sa.Column('client_id', Id, nullable=False),
    sa.Column('printer_id', Id, nullable=False),
    sa.Column('token_hash', sa.String(64), nullable=False),
    sa.Column('scope', sa.String(100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_tokens_client_id_api_clients')),
    sa.ForeignKeyConstraint(['printer_id'], ['organisations.id'], name=op.f('fk_api_tokens_printer_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.create_index(op.f('ix_api_tokens_client_id'), 'api_tokens', ['client_id'])

    if op.get_bind().dialect.name == "postgresql":
        for table in ("order_items", "deletion_receipts", "school_printers"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING (school_id = {SCHOOL}) "
                       f"WITH CHECK (school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY printer_reads ON order_items FOR SELECT USING (printer_id = {PRINTER})")
        op.execute(f"CREATE POLICY printer_reports ON order_items FOR UPDATE USING (printer_id = {PRINTER}) "
                   f"WITH CHECK (printer_id = {PRINTER})")
        op.execute(f"CREATE POLICY city_reads ON deletion_receipts FOR SELECT USING (city_id = {CITY})")
        op.execute(f"CREATE POLICY city_reads ON school_printers FOR SELECT USING (city_id = {CITY})")


def downgrade() -> None:
    op.drop_index(op.f('ix_api_tokens_client_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_api_clients_printer_id'), table_name='api_clients')
    op.drop_table('api_clients')
    op.drop_index(op.f('ix_school_printers_city_id'), table_name='school_printers')
    op.drop_table('school_printers')
    op.drop_index(op.f('ix_deletion_receipts_city_id'), table_name='deletion_receipts')
    op.drop_index(op.f('ix_deletion_receipts_school_id'), table_name='deletion_receipts')
    op.drop_table('deletion_receipts')
    op.drop_index(op.f('ix_order_items_printer_id'), table_name='order_items')
    op.drop_index(op.f('ix_order_items_order_id'), table_name='order_items')
    op.drop_index(op.f('ix_order_items_school_id'), table_name='order_items')
    op.drop_table('order_items')
    with op.batch_alter_table('print_orders') as batch:
        for column in ('purged_at', 'purge_after', 'invoice_mismatch', 'invoice_recorded_at', 'invoice_gross',
                       'invoice_vat', 'invoice_net', 'invoice_number', 'tracking_number', 'carrier',
                       'rejection_reason', 'rejected_at', 'accepted_at', 'reprint_of_id', 'due_date', 'quote',
                       'channel'):
            batch.drop_column(column)
        batch.alter_column('printer_id', existing_type=Id, nullable=False)
    with op.batch_alter_table('organisations') as batch:
        for column in ('bleed_mm', 'offset_y_mm', 'offset_x_mm', 'preprinted_blanks', 'shipping_price',
                       'season_surcharge'):
            batch.drop_column(column)
