"""Identity REST routes: seed 002's auth endpoints, users, accounts, and the published signing
keys."""

from fastapi import APIRouter

from orderly.identity.api import accounts, auth, discovery, users

router = APIRouter()
router.include_router(auth.router)
router.include_router(users.router)
router.include_router(accounts.router)
router.include_router(discovery.router)
