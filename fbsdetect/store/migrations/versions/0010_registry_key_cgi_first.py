"""registry: the unique key of registry_cell ordered CGI first, the CGI index dropped

The key was (source_id, radio, mcc, mnc, lac, cid), and a second index on
(mcc, mnc, lac, cid) served lookups by CGI. Ordered (mcc, mnc, lac, cid, radio,
source_id) the key's index serves those lookups itself, so an import writes one
index fewer: measured on a 5-million-row OpenCellID import into SQLite, the
merge took 11.8 s instead of 16.1 s (issue 10). The key is now a unique index,
not a table constraint, on both databases.

On SQLite a table constraint can only be removed by copying the table (Alembic's
batch mode: a new table, the rows copied with their ids, the old one dropped),
which takes a while on a big registry, once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NEW_KEY = ["mcc", "mnc", "lac", "cid", "radio", "source_id"]
OLD_KEY = ["source_id", "radio", "mcc", "mnc", "lac", "cid"]
CGI = ["mcc", "mnc", "lac", "cid"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("registry_cell", recreate="always") as batch_op:
            batch_op.drop_constraint("uq_registry_cell", type_="unique")
            batch_op.drop_index("ix_registry_cell_cgi")
            batch_op.create_index("uq_registry_cell", NEW_KEY, unique=True)
    else:
        op.drop_constraint("uq_registry_cell", "registry_cell", type_="unique")
        op.drop_index("ix_registry_cell_cgi", table_name="registry_cell")
        op.create_index("uq_registry_cell", "registry_cell", NEW_KEY, unique=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("registry_cell", recreate="always") as batch_op:
            batch_op.drop_index("uq_registry_cell")
            batch_op.create_unique_constraint("uq_registry_cell", OLD_KEY)
            batch_op.create_index("ix_registry_cell_cgi", CGI)
    else:
        op.drop_index("uq_registry_cell", table_name="registry_cell")
        op.create_unique_constraint("uq_registry_cell", "registry_cell", OLD_KEY)
        op.create_index("ix_registry_cell_cgi", "registry_cell", CGI)
