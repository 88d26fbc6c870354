"""Event ingest: landing files into the raw tables, checked against the event contract."""
