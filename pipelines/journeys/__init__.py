"""The journey engine: flows declared in flows.yml, planned from dbt's trigger timelines."""
