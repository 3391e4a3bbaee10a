"""Per-channel reductions for normalization kernels, as explicit vector IR.

LLVM does not reassociate float sums (graphc never sets ``reassoc``), so a plain reduction
loop stays scalar and runs at one add per cycle of latency. These helpers sum with vector
accumulators instead, in a fixed order (lanes, then a fixed horizontal sum, then the scalar
tail), so results are reproducible run to run and across batch layouts with the same sizes.
"""
from __future__ import annotations

from llvmlite import ir

from ..loops import const, for_range, iadd, imul
from ..scalar import FLAGS, ScalarEmitter, lltype

VECTOR_BYTES = 64  # AVX-512 width; LLVM splits wider-than-native vectors on smaller targets


class VecOps:
    """add/sub/mul on vectors of ``width`` lanes, with the ScalarEmitter's spelling and flags."""

    def __init__(self, b, dtype, width):
        self.b, self.dtype, self.width = b, dtype, width
        self.ety = lltype(dtype)
        self.ty = ir.VectorType(self.ety, width)

    def splat(self, x):
        if not isinstance(x, ir.Value):
            return ir.Constant(self.ty, [ir.Constant(self.ety, float(x))] * self.width)
        v = self.b.insert_element(ir.Constant(self.ty, ir.Undefined), x, const(0, ir.IntType(32)))
        return self.b.shuffle_vector(v, ir.Constant(self.ty, ir.Undefined),
                                     ir.Constant(ir.VectorType(ir.IntType(32), self.width), [0] * self.width))

    def _v(self, x):
        return x if isinstance(x, ir.Value) and x.type == self.ty else self.splat(x)

    def add(self, x, y):
        return self.b.fadd(self._v(x), self._v(y), flags=FLAGS)

    def sub(self, x, y):
        return self.b.fsub(self._v(x), self._v(y), flags=FLAGS)

    def mul(self, x, y):
        return self.b.fmul(self._v(x), self._v(y), flags=FLAGS)

    def load(self, ptr, idx):
        p = self.b.gep(ptr, [idx], source_etype=self.ety, inbounds=True)
        return self.b.load(p, typ=self.ty, align=_elem_bytes(self.dtype))  # user arrays: element-aligned

    def hsum(self, v):
        """Lane sum as a balanced tree (fixed order)."""
        lanes = [self.b.extract_element(v, const(i, ir.IntType(32))) for i in range(self.width)]
        while len(lanes) > 1:
            lanes = [self.b.fadd(lanes[i], lanes[i + 1], flags=FLAGS) for i in range(0, len(lanes), 2)]
        return lanes[0]



class VectorEmitter(ScalarEmitter):
    """The ScalarEmitter's arithmetic (add, max with NaN propagation, select, is_nan, ...) on vectors of
    ``width`` lanes: constants are splatted, so an op's ``step(s, acc, v)`` runs unchanged on vectors."""

    def __init__(self, b, dtype, width=None):
        super().__init__(b, dtype)
        self.width = width or VECTOR_BYTES // _elem_bytes(dtype)
        self.ety, self.ty = self.ty, ir.VectorType(self.ty, self.width)

    def c(self, v):
        return ir.Constant(self.ty, [ir.Constant(self.ety, float(v))] * self.width)

    def load(self, ptr, idx):
        p = self.b.gep(ptr, [idx], source_etype=self.ety, inbounds=True)
        return self.b.load(p, typ=self.ty, align=_elem_bytes(self.dtype))

    def intrinsic_suffix(self):
        return f"v{self.width}{super().intrinsic_suffix()}"

    def store(self, v, ptr, idx):
        p = self.b.gep(ptr, [idx], source_etype=self.ety, inbounds=True)
        self.b.store(v, p, align=_elem_bytes(self.dtype))

    def lanes(self, v, step, s):
        """Combine the lanes of ``v`` with the scalar ``step(s, a, b)`` as a balanced tree (fixed order)."""
        lanes = [self.b.extract_element(v, const(i, ir.IntType(32))) for i in range(self.width)]
        while len(lanes) > 1:
            lanes = [step(s, lanes[i], lanes[i + 1]) for i in range(0, len(lanes), 2)]
        return lanes[0]


def emit_row_reduce(k, dtype, ptr, base, length, init, step, combine=None):
    """``step``-fold of ``ptr[base : base + length]`` (contiguous) from ``init``, with vector accumulators:
    lanes fold in a fixed tree with ``combine`` (two partial results; default ``step``), then the scalar
    tail in order (reproducible; sums are reassociated only in this fixed way). ``step(emitter, acc, v)``
    works on scalars and vectors alike. Returns a scalar."""
    b = k.b
    s, vs = k.scalar(dtype), VectorEmitter(k.b, dtype)
    vacc = _slot(k, vs.ty, vs.c(init))
    length = length if isinstance(length, ir.Value) else const(length)
    nvec = b.sdiv(length, const(vs.width))
    with for_range(b, nvec, name="rv") as i:
        b.store(step(vs, b.load(vacc, typ=vs.ty), vs.load(ptr, iadd(b, base, imul(b, i, const(vs.width))))), vacc)
    acc = _slot(k, s.ty, vs.lanes(b.load(vacc, typ=vs.ty), combine or step, s))
    with for_range(b, length, start=b.mul(nvec, const(vs.width)), name="rt") as i:
        b.store(step(s, b.load(acc, typ=s.ty), k.load(ptr, iadd(b, base, i), dtype)), acc)
    return b.load(acc, typ=s.ty)


def emit_columns_update(k, dtype, dst, src, dst_base, src_base, length, step):
    """``dst[dst_base + j] = step(emitter, dst[dst_base + j], src[src_base + j])`` for ``j < length``,
    vectorized explicitly (no loop-carried value: every j is independent)."""
    b = k.b
    s, vs = k.scalar(dtype), VectorEmitter(k.b, dtype)
    length = length if isinstance(length, ir.Value) else const(length)
    nvec = b.sdiv(length, const(vs.width))
    with for_range(b, nvec, name="cv") as i:
        j = imul(b, i, const(vs.width))
        d = iadd(b, dst_base, j)
        vs.store(step(vs, vs.load(dst, d), vs.load(src, iadd(b, src_base, j))), dst, d)
    with for_range(b, length, start=b.mul(nvec, const(vs.width)), name="ct") as j:
        d = iadd(b, dst_base, j)
        k.store(step(s, k.load(dst, d, dtype), k.load(src, iadd(b, src_base, j), dtype)), dst, d, dtype)


def _elem_bytes(dtype):
    return 4 if dtype == "float32" else 8


def _slot(k, typ, init):
    with k.b.goto_entry_block():
        k.b.position_at_start(k.fn.entry_basic_block)
        p = k.b.alloca(typ)
    k.b.store(init, p)
    return p


def emit_strided_sums(k, dtype, ptrs, rows, row_stride, base, length, terms, params=()):
    """Sums over ``r < rows``, ``i < length`` of ``terms(ops, vals, params)`` (a list of values),
    where ``vals[j] = ptrs[j][base + r * row_stride + i]``.

    ``terms`` is called twice: with a :class:`VecOps` (``vals`` vectors, ``params`` splatted)
    for the vector body and with a ScalarEmitter for each row's tail. Returns the list of sums
    (scalars). ``rows``, ``row_stride``, ``base``, ``length``: i64 values or ints.
    """
    b = k.b
    s = k.scalar(dtype)
    width = VECTOR_BYTES // _elem_bytes(dtype)
    vo = VecOps(b, dtype, width)
    vparams = [vo.splat(p) for p in params]
    n_terms = len(terms(s, [s.c(0.0)] * len(ptrs), [s.c(0.0)] * len(params)))
    vacc = [_slot(k, vo.ty, vo.splat(0.0)) for _ in range(n_terms)]
    sacc = [_slot(k, s.ty, s.c(0.0)) for _ in range(n_terms)]
    length = length if isinstance(length, ir.Value) else const(length)
    nvec = b.sdiv(length, const(width))
    vend = b.mul(nvec, const(width))
    with for_range(b, rows, name="sr") as r:
        rb = iadd(b, base, imul(b, r, row_stride))
        with for_range(b, nvec, name="sv") as i:
            off = b.add(rb, b.mul(i, const(width)))
            vals = terms(vo, [vo.load(p, off) for p in ptrs], vparams)
            for a, v in zip(vacc, vals):
                b.store(vo.add(b.load(a, typ=vo.ty), v), a)
        with for_range(b, length, start=vend, name="st") as i:
            off = b.add(rb, i)
            vals = terms(s, [k.load(p, off, dtype) for p in ptrs], list(params))
            for a, v in zip(sacc, vals):
                b.store(s.add(b.load(a, typ=s.ty), v), a)
    return [s.add(vo.hsum(b.load(va, typ=vo.ty)), b.load(sa, typ=s.ty)) for va, sa in zip(vacc, sacc)]
