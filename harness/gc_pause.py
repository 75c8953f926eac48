"""`gc_paused()`: pause Python's automatic cyclic garbage collector inside a block.

For bulk work that allocates millions of short-lived, acyclic objects (packet
decoding, report building), where the collector's periodic scans cost more than
they find. The previous state is restored on exit. Nothing else lives here.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
