"""The duplicate fee as a dated setting and the card templates' versions (docs/domain.md §25).

- `duplicate_fees`: the platform's periods of the duplicate fee (amount, from, to, legal basis),
  seeded with 9,00 zł from 13.07.2024 under § 67 of Dz.U. 2023 poz. 1120. Not a school's table:
  national law, the same for every school, so no RLS (like `users`).
- `applications.fee_basis`: the basis of the fee an application was charged, kept with it like
  `fee_amount`; existing duplicates get the seed's basis (the only fee there has been).
- `cards.template_version`: the version of its template each card is printed with, backfilled by
  issue date — poz. 2653's version from 22.12.2023, the original text before (the dates of
  tenants.registry.template_versions, copied here: a migration stays as it was written).

Revision ID: 0023
Revises: 0022
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SEED_BASIS = ("§ 67 ust. 1 rozporządzenia MEiN z 7.06.2023 r. (Dz.U. 2023 poz. 1120): kwota równa opłacie "
              "skarbowej od poświadczenia własnoręczności podpisu (ustawa o opłacie skarbowej, załącznik, "
              "część II pkt 5)")
AMENDED_2653_FROM = dt.date(2023, 12, 22)


def upgrade() -> None:
    fees = op.create_table(
        'duplicate_fees',
        sa.Column('id', Id, nullable=False),
        sa.Column('amount', sa.Numeric(8, 2), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('basis', sa.String(300), nullable=False),
        sa.Column('created_by_id', Id, nullable=True),
        sa.Column('closed_by_id', Id, nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_duplicate_fees_amount_positive')),
        sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_duplicate_fees_period')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_duplicate_fees_created_by_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_duplicate_fees_closed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_fees')),
        sa.UniqueConstraint('valid_from', name=op.f('uq_duplicate_fees_valid_from')),
    )
    op.bulk_insert(fees, [{'id': 1, 'amount': '9.00', 'valid_from': dt.date(2024, 7, 13), 'valid_to': None,
                           'basis': SEED_BASIS, 'created_by_id': None, 'closed_by_id': None, 'closed_at': None,
                           'created_at': dt.datetime(2024, 7, 13, tzinfo=dt.UTC)}])
    if op.get_bind().dialect.name == 'postgresql':  # the seed took id 1 by hand: the sequence goes on from it
        op.execute("SELECT setval(pg_get_serial_sequence('duplicate_fees', 'id'), 1)")

    with op.batch_alter_table('applications') as batch:
        batch.add_column(sa.Column('fee_basis', sa.String(300), nullable=False, server_default=''))
    op.execute(sa.text("UPDATE applications SET fee_basis = :basis WHERE kind = 'duplicate'")
               .bindparams(basis=SEED_BASIS))

    with op.batch_alter_table('cards') as batch:
        batch.add_column(sa.Column('template_version', sa.String(20), nullable=True))
    # An imported entry (0022, docs/domain.md §24) names no template, so it has no version either.
    op.execute(sa.text("UPDATE cards SET template_version = CASE WHEN issue_date >= :amended "
                       "THEN '2023-2653' ELSE '2023-1120' END WHERE source = 'legitka'")
               .bindparams(sa.bindparam('amended', AMENDED_2653_FROM, type_=sa.Date())))
    with op.batch_alter_table('cards') as batch:
        batch.create_check_constraint(op.f('ck_cards_legitka_card_version'),
                                      "source = 'import' OR template_version IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('cards') as batch:
        batch.drop_constraint(op.f('ck_cards_legitka_card_version'), type_='check')
        batch.drop_column('template_version')
    with op.batch_alter_table('applications') as batch:
        batch.drop_column('fee_basis')
    op.drop_table('duplicate_fees')
