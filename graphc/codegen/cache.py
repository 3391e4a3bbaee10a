"""On-disk cache of compiled object code, keyed by the graph's canonical text + target + graphc's version.

The key is computed from :func:`canonical_text`, in which values are numbered by position (inputs,
then each op's inputs and outputs over ``schedule(g)``) and op names are left out, so a model rebuilt
in a new process (``dense_3`` instead of ``dense``) hits the entry its first build wrote. This is
correct because the generated code depends on names only through the buffer table's order, and
``buffer_plan`` orders that table by the same positions.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

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


def _attr(v) -> str:
    """Exact text of an attribute value (float bits, whole arrays: a kernel may bake attributes in)."""
    if isinstance(v, np.ndarray):
        return f"array({v.dtype},{list(v.shape)},{hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()})"
    if isinstance(v, (float, np.floating)):
        return float(v).hex()
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_attr(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{k!r}:{_attr(x)}" for k, x in sorted(v.items())) + "}"
    if hasattr(v, "SerializeToString"):  # an onnx TensorProto / GraphProto attribute
        return f"proto({hashlib.sha256(v.SerializeToString(deterministic=True)).hexdigest()})"
    return repr(v)


def canonical_text(g, ops=None) -> str:
    """The graph as codegen sees it, without names: symbols; inputs; each op in ``schedule`` order with
    its domain, type, exact attributes and numbered operands; the role and type of every param, state
    and const at its first use (not its data: kernels read weights and consts at run time); outputs and
    in-place updates. Two graphs with the same canonical text compile to the same code."""
    from .program import schedule
    ids: dict[str, int] = {}

    def ref(n):
        if n not in ids:
            ids[n] = len(ids)
            val = g.value(n)
            if val.role != "intermediate":
                lines.append(f"{val.role} %{ids[n]}: {val.type}")
        return f"%{ids[n]}"

    lines = [f"symbols {g.symbols()}"]
    for n in g.inputs:
        ref(n)
    for op in (schedule(g) if ops is None else ops):
        ins = ", ".join("_" if v is None else ref(v) for v in g.op_inputs(op))
        outs = []
        for v in g.op_outputs(op):
            ids.setdefault(v, len(ids))
            outs.append(f"%{ids[v]}: {g.value(v).type}")
        attrs = ", ".join(f"{k}={_attr(a)}" for k, a in sorted(op.attrs.items()))
        lines.append(f"{', '.join(outs)} = {op.domain}.{op.op_type}({ins}) {{{attrs}}}")
    lines.append("return " + ", ".join(ref(n) for n in g.outputs))
    unused = sorted(f"{v.role} {v.type}" for v in g.values() if v.name not in ids)  # never read: order is moot
    lines += [f"unused {u}" for u in unused]
    lines.append("updates " + ", ".join(sorted(f"{ref(new)}->{ref(old)}" for new, old in g.aliases.items())))
    return "\n".join(lines)


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
