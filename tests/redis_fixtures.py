"""Fixtures that start a real redis-server for the tests."""
