"""How a process that does bulk work sets up Polars' memory allocator.

Polars allocates through its own jemalloc, which it sets up (polars/__init__.py) to give
freed memory back to the system half a second to a second after it is freed (the "decay"
times `dirty_decay_ms:500,muzzy_decay_ms:1000`, followed by whatever `_RJEM_MALLOC_CONF`
says, which therefore wins). A full recompute frees and allocates gigabytes of frames batch
after batch, so most of its allocations were fresh pages the kernel had to fault in and
zero: 8.6 million page faults and 28 s of system CPU in an 85 s rebuild of a country
(2,500 units x 1,000 indicators x 20 years, PostgreSQL, issue 18). Kept instead of given
back, freed memory is reused: 2.6 million faults, 14 s; through `make bench` the rebuild
took 81 s against 102 s, at a higher peak (2.9–3.0 GiB against 1.9–2.1; the target is 4).
The process keeps its high-water mark until it ends, which suits a command or a task
worker, not a long-lived web worker: `municipium serve` and `demo` leave their web server
without it (bench/RESULTS.md).

jemalloc reads its settings once, when Polars is loaded, so `keep_freed_memory` must run
before anything imports Polars; this module imports nothing that does. An operator's own
`_RJEM_MALLOC_CONF` is left as it is.
"""

import os

ENV = "_RJEM_MALLOC_CONF"  # Polars' jemalloc is built with the "_rjem_" prefix
KEEP_FREED = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


def keep_freed_memory() -> None:
    """Polars' allocator keeps the memory this process frees, unless set otherwise already."""
    os.environ.setdefault(ENV, KEEP_FREED)
