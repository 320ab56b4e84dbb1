"""traffic: SMS captured on followed dedicated channels and their traffic counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fbsdetect.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("time", fbsdetect.store.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("fn", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Integer(), nullable=False),
        sa.Column("subchannel", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("smsc", sa.String(length=32), nullable=True),
        sa.Column("scts", sa.String(length=40), nullable=True),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=48), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sms") as batch:
        batch.create_index("ix_sms_observation", ["observation_id"], unique=False)
    op.create_table(
        "traffic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("traffic") as batch:
        batch.create_index("ix_traffic_observation", ["observation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("traffic") as batch:
        batch.drop_index("ix_traffic_observation")
    op.drop_table("traffic")
    with op.batch_alter_table("sms") as batch:
        batch.drop_index("ix_sms_observation")
    op.drop_table("sms")
