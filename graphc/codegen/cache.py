"""On-disk cache of compiled object code, keyed by graph text + target + graphc's version."""
from __future__ import annotations

import hashlib

from .. import __version__
from ..config import cache_dir
from ..io import atomic_write


def key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in (__version__,) + parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def load(k: str) -> bytes | None:
    d = cache_dir()
    if d is None:
        return None
    try:
        return (d / f"{k}.o").read_bytes()
    except OSError:
        return None


def store(k: str, data: bytes):
    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        with atomic_write(d / f"{k}.o") as f:  # parallel test workers share the cache
            f.write(data)
    except OSError:
        pass  # a read-only or full cache directory only costs speed
