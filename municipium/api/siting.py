"""API routes of the siting app, mounted at /api/siting/ by municipium.api.api."""

from ninja import Router

router = Router(tags=["siting"])
