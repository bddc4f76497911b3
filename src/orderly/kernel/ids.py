"""Identifiers."""

import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"
