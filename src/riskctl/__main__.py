"""``python -m riskctl``."""

from riskctl.cli import app

app()
