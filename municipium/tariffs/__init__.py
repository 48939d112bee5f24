"""Fees and tariffs: cost recovery, affordability and what-if scenarios."""
