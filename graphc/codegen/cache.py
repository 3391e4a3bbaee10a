"""On-disk cache of compiled object code, keyed by graph text + target + graphc's version."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .. import __version__
from ..config import cache_dir
from ..io import atomic_write


@functools.cache
def source_digest() -> str:
    """Hash of the code that generates kernels (ops and codegen), so a changed kernel emitter
    never reuses stale object code even without a version bump."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted([*root.glob("ops/*.py"), *root.glob("codegen/**/*.py"), root / "ir" / "printer.py"]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in (__version__, source_digest()) + parts:
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
