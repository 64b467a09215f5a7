"""Per-year registry numbering (docs/domain.md §5): a school may number its cards {n}/{rok} with
{n} starting again at 1 each calendar year of issue.

- `school_counters` gets `year` (0 = the continuous counter, which every existing row is) and its
  key becomes (school_id, year): one counter row per sequence, still taken by one row lock.
- `cards.numbering_year` (0 = continuous; existing cards all are): the registry's uniqueness
  becomes (school_id, numbering_year, number).
- `print_orders.numbering_year`: the sequence of the order's first–last numbers.
- `organisations.card_numbering` ('continuous' | 'yearly') and `card_numbering_from` (the first
  calendar year it applies to; the years before use the other one).

Existing schools stay continuous and their numbers unchanged.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('school_counters') as batch:
        batch.add_column(sa.Column('year', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_constraint(op.f('pk_school_counters'), type_='primary')
        batch.create_primary_key(op.f('pk_school_counters'), ['school_id', 'year'])
        batch.create_check_constraint(op.f('ck_school_counters_year_non_negative'), 'year >= 0')
    with op.batch_alter_table('cards') as batch:
        batch.add_column(sa.Column('numbering_year', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_constraint(op.f('uq_cards_school_id_number'), type_='unique')
        batch.create_unique_constraint(op.f('uq_cards_school_id_numbering_year_number'),
                                       ['school_id', 'numbering_year', 'number'])
        batch.create_check_constraint(op.f('ck_cards_numbering_year_non_negative'), 'numbering_year >= 0')
    with op.batch_alter_table('print_orders') as batch:
        batch.add_column(sa.Column('numbering_year', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('card_numbering', sa.String(10), nullable=False, server_default='continuous'))
        batch.add_column(sa.Column('card_numbering_from', sa.Integer(), nullable=False, server_default='0'))
        batch.create_check_constraint(op.f('ck_organisations_card_numbering'),
                                      "card_numbering IN ('continuous', 'yearly')")


def downgrade() -> None:
    # Only possible while no school numbers per year: the per-year rows would collide.
    with op.batch_alter_table('organisations') as batch:
        batch.drop_constraint(op.f('ck_organisations_card_numbering'), type_='check')
        batch.drop_column('card_numbering_from')
        batch.drop_column('card_numbering')
    with op.batch_alter_table('print_orders') as batch:
        batch.drop_column('numbering_year')
    with op.batch_alter_table('cards') as batch:
        batch.drop_constraint(op.f('ck_cards_numbering_year_non_negative'), type_='check')
        batch.drop_constraint(op.f('uq_cards_school_id_numbering_year_number'), type_='unique')
        batch.create_unique_constraint(op.f('uq_cards_school_id_number'), ['school_id', 'number'])
        batch.drop_column('numbering_year')
    op.execute("DELETE FROM school_counters WHERE year <> 0")
    with op.batch_alter_table('school_counters') as batch:
        batch.drop_constraint(op.f('ck_school_counters_year_non_negative'), type_='check')
        batch.drop_constraint(op.f('pk_school_counters'), type_='primary')
        batch.create_primary_key(op.f('pk_school_counters'), ['school_id'])
        batch.drop_column('year')
