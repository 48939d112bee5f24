"""Demo data: real structure (units, boundaries, catalogue, published Kolada figures) and
clearly labelled synthetic figures, loaded through the same importers a user's files go
through (`municipium demo`)."""


class DemoError(RuntimeError):
    """The demo data did not load; the message lists what was refused and why. Here rather
    than in `load` so that each demo part (surveys, meetings, tariffs, ...) can raise it
    without importing the loader that imports them."""
