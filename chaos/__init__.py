"""Fault injection for Orderly: network faults, crashes and outages against a real deployment."""
