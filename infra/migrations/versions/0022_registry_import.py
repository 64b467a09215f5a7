"""Cards issued before Legitka, imported from the school's register (docs/domain.md §24).

`cards` gets where an entry comes from (`source`: legitka / import) and what it is (`medium`: id1 /
paper); an imported entry has no application and no order, and no pupil when its holder is not a
pupil of the school, so those columns become nullable, and check constraints keep a Legitka card as
strict as before. A paper card has no validity date (valid until the pupil leaves, §7). The holder
as the register names them is kept on an imported entry (the PESEL encrypted, only without a pupil).
No data changes: every existing row is a Legitka ID-1 card (the server defaults).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('cards') as batch:
        batch.add_column(sa.Column('source', sa.String(8), nullable=False, server_default='legitka'))
        batch.add_column(sa.Column('medium', sa.String(8), nullable=False, server_default='id1'))
        batch.add_column(sa.Column('holder_name', sa.String(200), nullable=False, server_default=''))
        batch.add_column(sa.Column('holder_class', sa.String(20), nullable=False, server_default=''))
        batch.add_column(sa.Column('holder_birth', sa.Date(), nullable=True))
        batch.add_column(sa.Column('holder_pesel_cipher', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('import_id', ID, nullable=True))
        batch.alter_column('pupil_id', existing_type=ID, nullable=True)
        batch.alter_column('application_id', existing_type=ID, nullable=True)
        batch.alter_column('order_id', existing_type=ID, nullable=True)
        batch.alter_column('valid_until', existing_type=sa.Date(), nullable=True)
        batch.create_check_constraint(op.f('ck_cards_source'), "source IN ('legitka', 'import')")
        batch.create_check_constraint(op.f('ck_cards_medium'), "medium IN ('id1', 'paper')")
        batch.create_check_constraint(
            op.f('ck_cards_legitka_card'),
            "source = 'import' OR (application_id IS NOT NULL AND order_id IS NOT NULL AND "
            "pupil_id IS NOT NULL AND medium = 'id1' AND import_id IS NULL)")
        batch.create_check_constraint(
            op.f('ck_cards_imported_card'),
            "source = 'legitka' OR (application_id IS NULL AND order_id IS NULL AND "
            "(pupil_id IS NOT NULL OR holder_name <> ''))")
        batch.create_check_constraint(
            op.f('ck_cards_medium_dates'),
            "(medium = 'paper' AND issue_date <= '2024-07-12' AND valid_until IS NULL) OR "
            "(medium = 'id1' AND valid_until IS NOT NULL)")


def downgrade() -> None:
    op.execute("DELETE FROM cards WHERE source = 'import'")
    with op.batch_alter_table('cards') as batch:
        for name in ('medium_dates', 'imported_card', 'legitka_card', 'medium', 'source'):
            batch.drop_constraint(op.f(f'ck_cards_{name}'), type_='check')
        batch.alter_column('valid_until', existing_type=sa.Date(), nullable=False)
        batch.alter_column('order_id', existing_type=ID, nullable=False)
        batch.alter_column('application_id', existing_type=ID, nullable=False)
        batch.alter_column('pupil_id', existing_type=ID, nullable=False)
        for column in ('import_id', 'holder_pesel_cipher', 'holder_birth', 'holder_class', 'holder_name',
                       'medium', 'source'):
            batch.drop_column(column)
