"""The access log names the API client that acted, records denied attempts of printers and cities
(rows without a school), and is hash-chained per tenant (docs/security.md T3.10, T3.11;
`tenants.tenancy.audit_chain`).

`access_log` gains `api_client`, `chain`, `chain_seq`, `prev_hash`, `row_hash`; `school_id` may be
empty. Rows already written keep an empty `chain_seq`: each chain starts from its recorded genesis
in `access_log_heads` when its first new row is written. `access_log_heads` holds hashes only, no
personal data and no pupil ids, so it has no row-level security (every tenant appends to the chain
of the school whose data it touched); `infra.migrate.grant_app_role` takes DELETE on it away from the
app role. No unique key on (chain, chain_seq): every unique key of a tenant table includes the
school (docs/security.md T1.8); the head's lock keeps the numbers apart and `verify` reports a
repeated one. Adding the columns is DDL: the append-only trigger (UPDATE, DELETE) is not involved.

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('access_log') as batch:
        batch.alter_column('school_id', existing_type=Id, nullable=True)
        batch.add_column(sa.Column('api_client', sa.String(48), nullable=False, server_default=''))
        batch.add_column(sa.Column('chain', sa.String(40), nullable=False, server_default=''))
        batch.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(64), nullable=False, server_default=''))
        batch.add_column(sa.Column('row_hash', sa.String(64), nullable=False, server_default=''))
    op.create_table('access_log_heads',
    sa.Column('chain', sa.String(40), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.String(64), nullable=False),
    sa.Column('genesis_hash', sa.String(64), nullable=False),
    sa.Column('genesis_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_access_log_heads')),
    )


def downgrade() -> None:
    op.drop_table('access_log_heads')
    with op.batch_alter_table('access_log') as batch:
        for column in ('row_hash', 'prev_hash', 'chain_seq', 'chain', 'api_client'):
            batch.drop_column(column)
        batch.alter_column('school_id', existing_type=Id, nullable=False)
