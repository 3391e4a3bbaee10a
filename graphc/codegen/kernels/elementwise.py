"""One loop nest for an elementwise op with numpy broadcasting; the body is the op's scalar."""
from __future__ import annotations

from ..loops import dot, imul, loop_nest, product


def broadcast_flags(in_types, out_type):
    """flags[i][a] is True where input i is broadcast along output axis a."""
    r = out_type.rank
    flags = []
    for t in in_types:
        pad = r - t.rank
        flags.append([a < pad or (t.shape[a - pad] == 1 and out_type.shape[a] != 1) for a in range(r)])
    return flags


def merge_axes(rank, flags):
    """Runs of consecutive output axes that every input treats alike, so they loop as one."""
    groups = []
    for a in range(rank):
        if groups and all(f[a] == f[groups[-1][-1]] for f in flags):
            groups[-1].append(a)
        else:
            groups.append([a])
    return groups


def strides(k, t, out_rank, bcast):
    """Element stride of ``t`` along each output axis (0 where it broadcasts)."""
    pad = out_rank - t.rank
    out, run = [0] * out_rank, 1
    for a in reversed(range(t.rank)):
        if not bcast[pad + a]:
            out[pad + a] = run
        run = imul(k.b, run, k.dim(t, a))
    return out


def emit_elementwise(k, op, body):
    """Write ``out[i] = body(s, in0[i'], in1[i''], ...)`` over the output's index space.

    ``body(s, *xs)`` receives a ScalarEmitter and the loaded input scalars by slot (None for an
    absent optional input); it may return a
    list for ops with several outputs of the output's shape. The innermost loop has unit or
    zero strides, so LLVM vectorizes it.
    """
    out_t = k.out_types[0]
    flags = broadcast_flags(k.in_types, out_t)
    groups = merge_axes(out_t.rank, flags)
    in_strides = [strides(k, t, out_t.rank, f) for t, f in zip(k.in_types, flags)]
    out_strides = strides(k, out_t, out_t.rank, [False] * out_t.rank)
    extents = [product(k.b, [k.dim(out_t, a) for a in g]) for g in groups]
    s = k.scalar(out_t.dtype)
    with loop_nest(k.b, extents, name="e") as idxs:
        # the innermost axis of a merged group carries the group's stride
        loaded = iter([k.load(p, dot(k.b, idxs, [st[g[-1]] for g in groups]), t.dtype)
                       for p, st, t in zip(k.inputs, in_strides, k.in_types)])
        res = body(s, *[next(loaded) if p else None for p in k.present])
        o = dot(k.b, idxs, [out_strides[g[-1]] for g in groups])
        for r, p, t in zip(res if isinstance(res, (list, tuple)) else [res], k.outputs, k.out_types):
            k.store(r, p, o, t.dtype)
    k.b.ret_void()
