"""The service's store: models, migrations and the queries the core needs."""
