"""Fake POS servers (WSGI apps) for end-to-end tests and benchmarks."""
