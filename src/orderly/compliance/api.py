"""Compliance's routes."""

from fastapi import APIRouter

router = APIRouter(tags=["compliance"])
