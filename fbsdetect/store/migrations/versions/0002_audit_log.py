"""audit log: the hash-chained `audit_log` table; rows already stored are sealed
with `baseline` entries (fbsdetect/store/audit.py)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fbsdetect.store.models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('time', fbsdetect.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('row_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('row_digest', sa.String(length=64), nullable=True),
    sa.Column('fields', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_row', ['table_name', 'row_id', 'seq'], unique=False)

    from fbsdetect.store.audit import seal_existing

    seal_existing(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_row')
    op.drop_table('audit_log')
