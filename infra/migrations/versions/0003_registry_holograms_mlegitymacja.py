"""The registry's card life, holograms and mLegitymacja (issue 4).

Cards gain the printed number label, blank serial and chip UID, invalidation and the link to
the card they replace. Schools gain the number format; pupils their paper card and their
mLegitymacja state. New tables: hologram_deliveries, hologram_protocols, holograms, each with
row-level security.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('card_number_format', sa.String(30), nullable=False, server_default='{n}'))

    with op.batch_alter_table('pupils') as batch:
        batch.add_column(sa.Column('paper_card_number', sa.String(30), nullable=False, server_default=''))
        batch.add_column(sa.Column('paper_card_issued_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('mleg_objection_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('mleg_card_id', Id, nullable=True))
        batch.add_column(sa.Column('mleg_registered_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('mleg_invalidated_on', sa.Date(), nullable=True))

    with op.batch_alter_table('cards') as batch:
        batch.add_column(sa.Column('handover_signed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('number_label', sa.String(30), nullable=False, server_default=''))
        batch.add_column(sa.Column('blank_serial', sa.String(40), nullable=False, server_default=''))
        batch.add_column(sa.Column('chip_uid', sa.String(40), nullable=False, server_default=''))
        batch.add_column(sa.Column('invalidation_reason', sa.String(20), nullable=False, server_default=''))
        batch.add_column(sa.Column('status_note', sa.String(300), nullable=False, server_default=''))
        batch.add_column(sa.Column('invalidated_at', sa.Date(), nullable=True))
        batch.add_column(sa.Column('replaces_card_id', Id, nullable=True))
        batch.create_foreign_key(op.f('fk_cards_school_id_cards'), 'cards', ['school_id', 'replaces_card_id'],
                                 ['school_id', 'id'])

    op.create_table('hologram_deliveries',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('school_year', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(200), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('first_serial', sa.String(30), nullable=False),
    sa.Column('last_serial', sa.String(30), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('count > 0', name=op.f('ck_hologram_deliveries_count_positive')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                            name=op.f('fk_hologram_deliveries_school_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_hologram_deliveries_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hologram_deliveries')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_hologram_deliveries_school_id_id')),
    )
    op.create_index(op.f('ix_hologram_deliveries_school_id'), 'hologram_deliveries', ['school_id'])

    op.create_table('hologram_protocols',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('kind', sa.String(10), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('committee', sa.String(300), nullable=False),
    sa.Column('reason', sa.String(300), nullable=False),
    sa.Column('created_by_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('void', 'destroy')", name=op.f('ck_hologram_protocols_kind')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'],
                            name=op.f('fk_hologram_protocols_school_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_hologram_protocols_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hologram_protocols')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_hologram_protocols_school_id_id')),
    )
    op.create_index(op.f('ix_hologram_protocols_school_id'), 'hologram_protocols', ['school_id'])

    op.create_table('holograms',
    sa.Column('id', Id, nullable=False),
    sa.Column('school_id', Id, nullable=False),
    sa.Column('serial', sa.String(30), nullable=False),
    sa.Column('school_year', sa.Integer(), nullable=False),
    sa.Column('delivery_id', Id, nullable=False),
    sa.Column('state', sa.String(10), nullable=False),
    sa.Column('card_id', Id, nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('issued_by_id', Id, nullable=True),
    sa.Column('void_protocol_id', Id, nullable=True),
    sa.Column('destroy_protocol_id', Id, nullable=True),
    sa.CheckConstraint("state IN ('in_stock', 'issued', 'voided', 'destroyed')", name=op.f('ck_holograms_state')),
    sa.CheckConstraint("(state = 'issued') = (card_id IS NOT NULL)", name=op.f('ck_holograms_issued_has_card')),
    sa.ForeignKeyConstraint(['school_id'], ['organisations.id'], name=op.f('fk_holograms_school_id_organisations')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_holograms_issued_by_id_users')),
    sa.ForeignKeyConstraint(['school_id', 'delivery_id'], ['hologram_deliveries.school_id', 'hologram_deliveries.id'],
                            name=op.f('fk_holograms_school_id_hologram_deliveries')),
    sa.ForeignKeyConstraint(['school_id', 'card_id'], ['cards.school_id', 'cards.id'],
                            name=op.f('fk_holograms_school_id_cards')),
    sa.ForeignKeyConstraint(['school_id', 'void_protocol_id'], ['hologram_protocols.school_id', 'hologram_protocols.id'],
                            name='fk_holograms_void_protocol'),
    sa.ForeignKeyConstraint(['school_id', 'destroy_protocol_id'],
                            ['hologram_protocols.school_id', 'hologram_protocols.id'],
                            name='fk_holograms_destroy_protocol'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holograms')),
    sa.UniqueConstraint('school_id', 'id', name=op.f('uq_holograms_school_id_id')),
    sa.UniqueConstraint('school_id', 'serial', name=op.f('uq_holograms_school_id_serial')),
    )
    op.create_index(op.f('ix_holograms_school_id'), 'holograms', ['school_id'])
    op.create_index('uq_holograms_one_per_card_and_year', 'holograms', ['school_id', 'card_id', 'school_year'],
                    unique=True, postgresql_where=sa.text("state = 'issued'"),
                    sqlite_where=sa.text("state = 'issued'"))

    if op.get_bind().dialect.name == "postgresql":
        school = "NULLIF(current_setting('app.school_id', true), '')::bigint"
        for table in ("hologram_deliveries", "hologram_protocols", "holograms"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING (school_id = {school}) "
                       f"WITH CHECK (school_id = {school})")
        # The city reads its schools' hologram rows (ids and states only) for its ledger.
        city = "NULLIF(current_setting('app.city_id', true), '')::bigint"
        op.execute(f"CREATE POLICY city_reads ON holograms FOR SELECT "
                   f"USING (school_id IN (SELECT id FROM organisations WHERE city_id = {city}))")


def downgrade() -> None:
    op.drop_index('uq_holograms_one_per_card_and_year', table_name='holograms')
    op.drop_index(op.f('ix_holograms_school_id'), table_name='holograms')
    op.drop_table('holograms')
    op.drop_index(op.f('ix_hologram_protocols_school_id'), table_name='hologram_protocols')
    op.drop_table('hologram_protocols')
    op.drop_index(op.f('ix_hologram_deliveries_school_id'), table_name='hologram_deliveries')
    op.drop_table('hologram_deliveries')
    with op.batch_alter_table('cards') as batch:
        batch.drop_constraint(op.f('fk_cards_school_id_cards'), type_='foreignkey')
        for column in ('replaces_card_id', 'invalidated_at', 'status_note', 'invalidation_reason', 'chip_uid',
                       'blank_serial', 'number_label', 'handover_signed'):
            batch.drop_column(column)
    with op.batch_alter_table('pupils') as batch:
        for column in ('mleg_invalidated_on', 'mleg_registered_on', 'mleg_card_id', 'mleg_objection_on',
                       'paper_card_issued_on', 'paper_card_number'):
            batch.drop_column(column)
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('card_number_format')
