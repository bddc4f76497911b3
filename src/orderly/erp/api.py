"""Erp's routes."""

from fastapi import APIRouter

router = APIRouter(tags=["erp"])
