"""fleet: node registry, users and tokens, ingest records keyed by (node, seq), node outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fbsdetect.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_DT = fbsdetect.store.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "fleet_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("mqtt_username", sa.String(length=64), nullable=False),
        sa.Column("mqtt_password_hash", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("last_seen", UTC_DT(timezone=True), nullable=True),
        sa.Column("health", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["sensor_id"], ["sensor.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["scan_run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "fleet_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "ingest_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("received_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("node", "seq", name="uq_ingest_node_seq"),
    )
    with op.batch_alter_table("ingest_record") as batch:
        batch.create_index("ix_ingest_record_kind", ["kind", "node"], unique=False)
    op.create_table(
        "node_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("sent_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("observation_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("node_outbox") as batch:
        batch.create_index("ix_node_outbox_sent", ["sent_at", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("node_outbox") as batch:
        batch.drop_index("ix_node_outbox_sent")
    op.drop_table("node_outbox")
    with op.batch_alter_table("ingest_record") as batch:
        batch.drop_index("ix_ingest_record_kind")
    op.drop_table("ingest_record")
    op.drop_table("fleet_user")
    op.drop_table("fleet_node")
