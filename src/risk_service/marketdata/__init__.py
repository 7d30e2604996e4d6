"""Where positions and market data come from, per environment.

``interface`` is the boundary the daily run talks to; ``synthetic`` (dev), ``files`` (prod and
staging deliveries) and ``anonymize`` (staging's copy of production-like files) implement it or
feed it.
"""
