"""Reproducible benchmarks that print figures: ``python -m bench`` runs them all (see bench/README.md)."""
