"""store environment: the environment a store belongs to, recorded at `db upgrade`

Issue 8, finding 9: a store must know whether it is dev, staging or prod, so synthetic market
data and positions are refused in a staging/prod store whatever the process's own settings say.
Expand only: a new one-row table no older release reads or writes. Stores migrated before this
revision have no row until `risk-service db upgrade` runs with an explicit environment; until
then they count as not-dev (synthetic data refused).

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_environment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("id = 1", name="ck_store_environment_one_row"),
    )


def downgrade() -> None:
    op.drop_table("store_environment")
