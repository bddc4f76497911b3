"""Ordering REST routes: the sales API of seed 001."""

from fastapi import APIRouter

from orderly.ordering.api import approvals, cart, orders, sagas

router = APIRouter()
router.include_router(orders.router)
router.include_router(cart.router)
router.include_router(sagas.router)
router.include_router(approvals.router)
