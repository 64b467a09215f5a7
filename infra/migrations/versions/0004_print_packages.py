"""Encrypted print packages (issue 5): the 7z's key, checksum and encrypted password per order.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('print_orders') as batch:
        batch.add_column(sa.Column('package_key', sa.String(200), nullable=True))
        batch.add_column(sa.Column('package_sha256', sa.String(64), nullable=True))
        batch.add_column(sa.Column('package_password_cipher', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('print_orders') as batch:
        batch.drop_column('package_password_cipher')
        batch.drop_column('package_sha256')
        batch.drop_column('package_key')
