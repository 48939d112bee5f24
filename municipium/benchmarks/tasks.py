"""Background tasks of the engine (placeholder until the engine lands in this module)."""
