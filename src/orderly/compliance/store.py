"""Compliance's tables and statements."""

import sqlalchemy as sa

metadata = sa.MetaData()
