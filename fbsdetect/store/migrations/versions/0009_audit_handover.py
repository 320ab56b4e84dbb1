"""audit log: handover records (the chain of custody: which detection went to whom, when, under
which case number) enter the hash chain; rows stored before this revision are sealed with
`baseline` entries, as 0007 did for the nodes' records.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:35:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from fbsdetect.store.audit import seal_existing

    seal_existing(op.get_bind(), ("handover",))


def downgrade() -> None:
    # the entries stay: the chain cannot lose entries and still verify
    pass
