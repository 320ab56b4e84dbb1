"""The central server: ingest from nodes, queries, dashboard."""
