"""The durable process manager: sagas whose state lives in the owning database and advances
only by messages through the inbox (see docs/architecture.md, Sagas)."""
