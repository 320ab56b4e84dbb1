"""handover: detections handed to the police or a radio regulator

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fbsdetect.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("detection_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=256), nullable=True),
        sa.Column("handed_at", fbsdetect.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", fbsdetect.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["detection_id"], ["detection.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handover") as batch:
        batch.create_index("ix_handover_detection", ["detection_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handover") as batch:
        batch.drop_index("ix_handover_detection")
    op.drop_table("handover")
