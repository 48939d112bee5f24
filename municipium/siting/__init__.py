"""Choosing a site for a shared facility: exclusion zones, weighted criteria, suitability."""
