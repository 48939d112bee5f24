"""API routes of the meetings app, mounted at /api/meetings/ by municipium.api.api."""

from ninja import Router

router = Router(tags=["meetings"])
