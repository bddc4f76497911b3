"""Inventory REST routes: seed 001's availability check, stock positions, holds, receipts, lots."""

from fastapi import APIRouter

from orderly.inventory.api import holds, lots, reservations, stock

router = APIRouter()
router.include_router(stock.router)
router.include_router(holds.router)
router.include_router(lots.router)
router.include_router(reservations.router)
