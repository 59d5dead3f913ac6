"""Prefect flows: sequencing, suspends and branching only."""
