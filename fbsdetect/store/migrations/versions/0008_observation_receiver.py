"""observation.receiver: which dongle of a multi-dongle scan measured the observation

Each RTL-SDR has its own oscillator error; the frequency-offset rules compare a
carrier only with carriers the same dongle measured. NULL for the scans of one
receiver (all rows written before this revision).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observation") as b:
        b.add_column(sa.Column("receiver", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observation") as b:
        b.drop_column("receiver")
