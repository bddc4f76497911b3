"""Ids, time and errors shared by every context; no I/O."""
