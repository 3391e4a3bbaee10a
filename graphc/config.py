"""Environment settings, read in one place."""
import os
from pathlib import Path

DEBUG = int(os.environ.get("GRAPHC_DEBUG", "0") or 0)


def cache_dir() -> Path | None:
    """Directory of the on-disk compile cache; ``GRAPHC_CACHE_DIR=off`` disables it."""
    value = os.environ.get("GRAPHC_CACHE_DIR", "")
    if value.lower() in ("off", "0", "none"):
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graphc"


def num_threads() -> int:
    """Threads for native kernels: ``GRAPHC_NUM_THREADS``, default the CPUs this process may use."""
    value = int(os.environ.get("GRAPHC_NUM_THREADS", "0") or 0)
    if value > 0:
        return value
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def verify_each() -> bool:
    """Verify the graph after every pass (``GRAPHC_VERIFY_EACH=1``, or ``GRAPHC_DEBUG``; the test suite
    turns it on), not only before and after the pipeline: it costs a quarter of a warm compile."""
    return DEBUG >= 1 or os.environ.get("GRAPHC_VERIFY_EACH", "0") not in ("", "0", "off", "false")


def fuse_default() -> bool:
    return os.environ.get("GRAPHC_FUSE", "1") not in ("0", "off", "false")


def memplan_default() -> bool:
    """Arena memory planning (buffers with disjoint live ranges share bytes); ``GRAPHC_MEMPLAN=0`` turns it off."""
    return os.environ.get("GRAPHC_MEMPLAN", "1") not in ("0", "off", "false")
