"""audit log: a node's detection and health records (their `ingest_record` rows) enter the
hash chain; the rows stored before this revision are sealed with `baseline` entries
(fbsdetect/store/audit.py: `AUDITED_WHERE`). A node's observation records are audited as
their `observation` rows, as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from fbsdetect.store.audit import seal_existing

    seal_existing(op.get_bind(), ("ingest_record",))


def downgrade() -> None:
    # the entries stay: the chain cannot lose entries and still verify; verify of an older
    # fbsdetect does not check the ingest_record rows they name
    pass
