"""API routes of the socialplanning app, mounted at /api/socialplanning/ by municipium.api.api."""

from ninja import Router

router = Router(tags=["socialplanning"])
