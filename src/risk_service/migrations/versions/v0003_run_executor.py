"""run executor: which executor (in-process or Dask) and how many workers produced a run

Expand only: two columns with server defaults, so a release at 0002 keeps inserting runs into a
store migrated to 0003 (they read as an in-process run on one worker, which is what that release
does; SPEC §4, migrations during deploy). Downgrading drops the two columns, nothing else.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("executor", sa.String(length=16), nullable=False, server_default="in-process")
        )
        batch.add_column(sa.Column("workers", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    # SQLite drops columns only by copying the table, which batch mode does.
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("workers")
        batch.drop_column("executor")
