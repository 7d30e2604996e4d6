"""`riskctl demo`: the whole delivery story end to end on embedded defaults (SPEC §7)."""
