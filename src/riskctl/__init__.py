"""riskctl: the delivery pipeline for risk-service."""
