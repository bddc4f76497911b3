"""What identity's routes are handed per request: its database."""

from typing import Annotated

from fastapi import Depends

from orderly.storage import Database
from orderly.web.dependencies import database

Identity = Annotated[Database, Depends(database("identity"))]
