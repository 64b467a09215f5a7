"""The blank ledger and destruction protocols (docs/domain.md §22, issue 16).

blank_deliveries, blank_protocols, blanks: rows of a holder of blank stock, a school printing on
its own printer or a printer (the city's print centre); the holder all operations, nobody else.
card_destructions: a school's spoiled cards destroyed by one of its protocols; the school only.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"
PRINTER = "NULLIF(current_setting('app.printer_id', true), '')::bigint"
HOLDER = f"(holder_id = {SCHOOL} OR holder_id = {PRINTER})"
SEES_ALL = "current_setting('legitka.migration', true) = 'on'"  # the owner's data migrations (0014)


def upgrade() -> None:
    op.create_table('blank_deliveries',
    sa.Column('id', Id, nullable=False),
    sa.Column('holder_id', Id, nullable=False),
    sa.Column('supplier', sa.String(200), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('first_serial', sa.String(40), nullable=False),
    sa.Column('last_serial', sa.String(40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('count > 0', name=op.f('ck_blank_deliveries_count_positive')),
    sa.ForeignKeyConstraint(['holder_id'], ['organisations.id'],
                            name=op.f('fk_blank_deliveries_holder_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_blank_deliveries_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blank_deliveries')),
    sa.UniqueConstraint('holder_id', 'id', name=op.f('uq_blank_deliveries_holder_id_id')),
    )
    op.create_index(op.f('ix_blank_deliveries_holder_id'), 'blank_deliveries', ['holder_id'])

    op.create_table('blank_protocols',
    sa.Column('id', Id, nullable=False),
    sa.Column('holder_id', Id, nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('committee', sa.String(300), nullable=False),
    sa.Column('reason', sa.String(300), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['organisations.id'],
                            name=op.f('fk_blank_protocols_holder_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_blank_protocols_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blank_protocols')),
    sa.UniqueConstraint('holder_id', 'id', name=op.f('uq_blank_protocols_holder_id_id')),
    )
    op.create_index(op.f('ix_blank_protocols_holder_id'), 'blank_protocols', ['holder_id'])

    op.create_table('blanks',
    sa.Column('id', Id, nullable=False),
    sa.Column('holder_id', Id, nullable=False),
    sa.Column('serial', sa.String(40), nullable=False),
    sa.Column('delivery_id', Id, nullable=False),
    sa.Column('state', sa.String(10), nullable=False),
    sa.Column('card_school_id', Id, nullable=True),
    sa.Column('card_id', Id, nullable=True),
    sa.Column('card_label', sa.String(30), nullable=False),
    sa.Column('used_on', sa.Date(), nullable=True),
    sa.Column('spoiled_on', sa.Date(), nullable=True),
    sa.Column('spoil_reason', sa.String(300), nullable=False),
    sa.Column('spoiled_by_id', Id, nullable=True),
    sa.Column('protocol_id', Id, nullable=True),
    sa.CheckConstraint("state IN ('in_stock', 'used', 'spoiled', 'destroyed')", name=op.f('ck_blanks_state')),
    sa.CheckConstraint("state <> 'used' OR card_id IS NOT NULL", name=op.f('ck_blanks_used_has_card')),
    sa.CheckConstraint("state <> 'in_stock' OR card_id IS NULL", name=op.f('ck_blanks_in_stock_has_no_card')),
    sa.CheckConstraint("(card_id IS NULL) = (card_school_id IS NULL)", name=op.f('ck_blanks_card_pair')),
    sa.CheckConstraint("(state = 'destroyed') = (protocol_id IS NOT NULL)",
                       name=op.f('ck_blanks_destroyed_by_protocol')),
    sa.ForeignKeyConstraint(['holder_id'], ['organisations.id'], name=op.f('fk_blanks_holder_id_organisations')),
    sa.ForeignKeyConstraint(['spoiled_by_id'], ['users.id'], name=op.f('fk_blanks_spoiled_by_id_users')),
    sa.ForeignKeyConstraint(['holder_id', 'delivery_id'], ['blank_deliveries.holder_id', 'blank_deliveries.id'],
                            name=op.f('fk_blanks_holder_id_blank_deliveries')),
    sa.ForeignKeyConstraint(['holder_id', 'protocol_id'], ['blank_protocols.holder_id', 'blank_protocols.id'],
                            name=op.f('fk_blanks_holder_id_blank_protocols')),
    sa.ForeignKeyConstraint(['card_school_id', 'card_id'], ['cards.school_id', 'cards.id'],
                            name=op.f('fk_blanks_card_school_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blanks')),
    sa.UniqueConstraint('holder_id', 'id', name=op.f('uq_blanks_holder_id_id')),
    sa.UniqueConstraint('holder_id', 'serial', name=op.f('uq_blanks_holder_id_serial')),
    )
    op.create_index(op.f('ix_blanks_holder_id'), 'blanks', ['holder_id'])
    op.create_index('uq_blanks_one_used_per_card', 'blanks', ['card_school_id', 'card_id'], unique=True,
                    postgresql_where=sa.text("state = 'used'"), sqlite_where=sa.text("state = 'used'"))

    op.create_table('card_destructions',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('card_id', Id, nullable=False),
    sa.Column('protocol_id', Id, nullable=False),
    sa.Column('card_label', sa.String(30), nullable=False),
    sa.Column('blank_serial', sa.String(40), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                            name=op.f('fk_card_destructions_school_id_organisations')),
    sa.ForeignKeyConstraint(['school_id', 'card_id'], ['cards.school_id', 'cards.id'],
                            name=op.f('fk_card_destructions_school_id_cards')),
    sa.ForeignKeyConstraint(['school_id', 'protocol_id'], ['blank_protocols.holder_id', 'blank_protocols.id'],
                            name=op.f('fk_card_destructions_school_id_blank_protocols')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_destructions')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_card_destructions_school_id_id')),
    sa.UniqueConstraint('school_id', 'card_id', name=op.f('uq_card_destructions_school_id_card_id')),
    )
    op.create_index(op.f('ix_card_destructions_school_id'), 'card_destructions', ['school_id'])

    if op.get_bind().dialect.name == "postgresql":
        for table in ("blank_deliveries", "blank_protocols", "blanks"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {HOLDER} WITH CHECK {HOLDER}")
        op.execute("ALTER TABLE card_destructions ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE card_destructions FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON card_destructions USING (school_id = {SCHOOL}) "
                   f"WITH CHECK (school_id = {SCHOOL})")
        for table in ("blank_deliveries", "blank_protocols", "blanks", "card_destructions"):
            op.execute(f"CREATE POLICY migration_runner ON {table} FOR ALL TO CURRENT_USER "
                       f"USING ({SEES_ALL}) WITH CHECK ({SEES_ALL})")


def downgrade() -> None:
    op.drop_index(op.f('ix_card_destructions_school_id'), table_name='card_destructions')
    op.drop_table('card_destructions')
    op.drop_index('uq_blanks_one_used_per_card', table_name='blanks')
    op.drop_index(op.f('ix_blanks_holder_id'), table_name='blanks')
    op.drop_table('blanks')
    op.drop_index(op.f('ix_blank_protocols_holder_id'), table_name='blank_protocols')
    op.drop_table('blank_protocols')
    op.drop_index(op.f('ix_blank_deliveries_holder_id'), table_name='blank_deliveries')
    op.drop_table('blank_deliveries')
