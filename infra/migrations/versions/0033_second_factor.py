"""The second factor and where sign-ins came from (docs/security.md T2.3, T2.5).

`user_second_factors` (a user's TOTP secret, encrypted, and the last accepted time step) and
`recovery_codes` (single-use, hashed like passwords) belong to a user, not to a tenant: like
`users` and `user_sessions` they have no school column and no row-level security. `user_sessions`
gains `ip` (shown at the next sign-in), `awaiting_factor` (password right, second factor still
owed) and `factor_failures` (wrong codes against that sign-in), and an index on (user, start):
every session of a user is ended at once, and the last one is shown at the next sign-in.

Revision ID: 0033
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0030'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('user_sessions') as batch:
        batch.add_column(sa.Column('ip', sa.String(45), nullable=False, server_default=''))
        batch.add_column(sa.Column('awaiting_factor', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('factor_failures', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_user_sessions_user_id_created_at', 'user_sessions', ['user_id', 'created_at'], unique=False)
    op.create_table('user_second_factors',
    sa.Column('user_id', Id, nullable=False),
    sa.Column('secret_cipher', sa.LargeBinary(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_second_factors_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_second_factors')),
    )
    op.create_table('recovery_codes',
    sa.Column('id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('code_hash', sa.String(200), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    )
    op.create_index(op.f('ix_recovery_codes_user_id'), 'recovery_codes', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_recovery_codes_user_id'), table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_table('user_second_factors')
    op.drop_index('ix_user_sessions_user_id_created_at', table_name='user_sessions')
    with op.batch_alter_table('user_sessions') as batch:
        for column in ('factor_failures', 'awaiting_factor', 'ip'):
            batch.drop_column(column)
