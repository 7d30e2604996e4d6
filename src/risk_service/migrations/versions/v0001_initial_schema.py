"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:21:10.935482
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_name", ["name"], unique=False)

    op.create_table(
        "instruments",
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("asset_class", sa.String(length=32), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("symbol"),
    )
    op.create_table(
        "positions",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("portfolio_id", sa.String(length=128), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("notional", sa.Float(), nullable=False),
        sa.Column("trader", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "portfolio_id", "symbol"),
    )
    op.create_table(
        "run_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("release_version", sa.String(length=64), nullable=False),
        sa.Column("release_digest", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_deadline", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("run_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_run_attempts_date", ["business_date"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("release_version", sa.String(length=64), nullable=False),
        sa.Column("release_digest", sa.String(length=128), nullable=False),
        sa.Column("git_sha", sa.String(length=64), nullable=False),
        sa.Column("positions_sha256", sa.String(length=64), nullable=False),
        sa.Column("market_data_sha256", sa.String(length=64), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_deadline", sa.Boolean(), nullable=False),
        sa.Column("portfolios", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_date"),
    )
    op.create_table(
        "symbol_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "market_data",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("symbol_set_id", sa.Integer(), nullable=False),
        sa.Column("returns", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["symbol_set_id"],
            ["symbol_sets.id"],
        ),
        sa.PrimaryKeyConstraint("business_date"),
    )
    op.create_table(
        "results",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.String(length=128), nullable=False),
        sa.Column("var_95", sa.Float(), nullable=False),
        sa.Column("var_99", sa.Float(), nullable=False),
        sa.Column("es_975", sa.Float(), nullable=False),
        sa.Column("gross_notional", sa.Float(), nullable=False),
        sa.Column("net_notional", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("previous_var_99", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sa.String(length=256), nullable=False),
        sa.Column("realised_pnl", sa.Float(), nullable=True),
        sa.Column("exception", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "portfolio_id"),
    )


def downgrade() -> None:
    op.drop_table("results")
    op.drop_table("market_data")
    op.drop_table("symbol_sets")
    op.drop_table("runs")
    with op.batch_alter_table("run_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_run_attempts_date")

    op.drop_table("run_attempts")
    op.drop_table("positions")
    op.drop_table("instruments")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_name")

    op.drop_table("api_tokens")
