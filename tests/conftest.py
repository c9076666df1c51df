"""Fixtures shared by the whole suite; each family lives in its own plugin module."""

pytest_plugins = ["tests.redis_fixtures", "tests.irods_fixtures", "tests.engine_fixtures", "tests.tls_fixtures"]
