"""Who revoked a printer's API client (docs/security.md T3.17): `api_clients.revoked_by_id`.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('api_clients') as batch:
        batch.add_column(sa.Column('revoked_by_id', Id, nullable=True))
        batch.create_foreign_key(op.f('fk_api_clients_revoked_by_id_users'), 'users', ['revoked_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('api_clients') as batch:
        batch.drop_constraint(op.f('fk_api_clients_revoked_by_id_users'), type_='foreignkey')
        batch.drop_column('revoked_by_id')
