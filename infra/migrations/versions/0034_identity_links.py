"""Links between Legitka users and their accounts at a city's OpenID Connect provider (docs/security.md
T2.18, `tenants.tenancy.identity_links`): the provider's issuer and its stable subject for the
person, stored at the first sign-in through the city's provider. Like `users`, a platform table with
no school's data and no `school_id`, so no row-level security; nothing secret is stored (no token,
no client secret).

Revision ID: 0034
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'identity_links',
        sa.Column('id', Id, nullable=False),
        sa.Column('user_id', Id, nullable=False),
        sa.Column('issuer', sa.String(500), nullable=False),
        sa.Column('subject', sa.String(255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_identity_links_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_links')),
        sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_identity_links_issuer_subject')),
    )
    op.create_index(op.f('ix_identity_links_user_id'), 'identity_links', ['user_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_identity_links_user_id'), table_name='identity_links')
    op.drop_table('identity_links')
