"""API routes of the tariffs app, mounted at /api/tariffs/ by municipium.api.api."""

from ninja import Router

router = Router(tags=["tariffs"])
