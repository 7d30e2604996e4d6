"""risk-service."""
