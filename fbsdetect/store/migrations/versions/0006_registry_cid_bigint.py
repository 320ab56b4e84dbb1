"""registry: registry_cell.cid 64-bit (NR cell identities are 36 bits)

On PostgreSQL the column becomes BIGINT. On SQLite nothing changes on disk: an
INTEGER column already holds 64-bit values (the model says so with a variant),
so a big SQLite registry is not copied.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("registry_cell", "cid", type_=sa.BigInteger(), existing_type=sa.Integer(),
                        existing_nullable=False)


def downgrade() -> None:
    # fails on PostgreSQL while a stored cell id needs more than 31 bits (nothing is truncated)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("registry_cell", "cid", type_=sa.Integer(), existing_type=sa.BigInteger(),
                        existing_nullable=False)
