"""Notifications's routes."""

from fastapi import APIRouter

router = APIRouter(tags=["notifications"])
