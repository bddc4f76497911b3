"""Orderly: an event-driven order management system."""

__version__ = "0.1.0"
