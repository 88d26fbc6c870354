"""Realistic, deterministic demo-store event generator (landing files in the event contract)."""

from pipelines.generate.spec import GenerateSummary, StoreSpec
from pipelines.generate.store import generate_store

__all__ = ["GenerateSummary", "StoreSpec", "generate_store"]
