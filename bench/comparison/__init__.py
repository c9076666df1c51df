"""bench/compare: lz-ingest beside the old framework; see __main__.py."""
