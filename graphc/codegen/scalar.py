"""ScalarEmitter: float arithmetic and math functions as inline LLVM IR.

Elementwise ops describe themselves with these (``OpDef.scalar``); codegen puts them in a
loop that LLVM's vectorizer widens. exp/log/tanh are polynomials written out here (there is
no vector math library in LLVM), accurate to about 1 ulp in f32 and 2 ulp in f64.
Fast-math flags are ``nsz arcp contract afn``: no ``reassoc``, so results are reproducible.
"""
from __future__ import annotations

import math

from llvmlite import ir

FLAGS = ("nsz", "arcp", "contract", "afn")
LLTYPES = {"float32": ir.FloatType(), "float64": ir.DoubleType(),
           "int64": ir.IntType(64), "int32": ir.IntType(32), "bool": ir.IntType(8)}


def lltype(dtype: str) -> ir.Type:
    return LLTYPES[dtype]


# per float type: (int type, mantissa bits, bias, exp lo, exp hi, exp degree, log terms, expm1 degree)
_FP = {
    "float32": (ir.IntType(32), 23, 127, -103.972, 88.7228, 7, 5, 9, 0.693359375, -2.12194440e-4, 2.0 ** 24),
    "float64": (ir.IntType(64), 52, 1023, -745.1332, 709.7827, 13, 12, 17,
                6.93147180369123816490e-01, 1.90821492927058770002e-10, 2.0 ** 54),
}


class ScalarEmitter:
    """Arithmetic on scalars of one dtype; ``op`` functions receive one of these.

    Float dtypes get everything; int32/int64 get the integer forms of the basics (add, sub, mul,
    div truncating toward zero, neg, cmp, select, max, min, abs): integer division by 0 gives 0
    and INT_MIN / -1 wraps (numpy's results), instead of the hardware trap.
    """

    def __init__(self, b: ir.IRBuilder, dtype: str):
        self.b, self.dtype, self.ty = b, dtype, lltype(dtype)
        self.module = b.module
        self.is_int = dtype in ("int32", "int64")

    # --- basics -------------------------------------------------------------------------
    def c(self, v):
        return ir.Constant(self.ty, int(v) if self.is_int else float(v))

    def _v(self, x):
        return x if isinstance(x, ir.Value) else self.c(x)

    def add(self, x, y):
        if self.is_int:
            return self.b.add(self._v(x), self._v(y))
        return self.b.fadd(self._v(x), self._v(y), flags=FLAGS)

    def sub(self, x, y):
        if self.is_int:
            return self.b.sub(self._v(x), self._v(y))
        return self.b.fsub(self._v(x), self._v(y), flags=FLAGS)

    def mul(self, x, y):
        if self.is_int:
            return self.b.mul(self._v(x), self._v(y))
        return self.b.fmul(self._v(x), self._v(y), flags=FLAGS)

    def div(self, x, y):
        if self.is_int:  # sdiv traps on 0 and on INT_MIN / -1: divide by 1 there and fix up
            x, y = self._v(x), self._v(y)
            zero, minus1 = self.cmp("==", y, 0), self.cmp("==", y, -1)
            q = self.b.sdiv(x, self.b.select(self.b.or_(zero, minus1), self.c(1), y))
            return self.b.select(zero, self.c(0), self.b.select(minus1, self.b.neg(x), q))
        return self.b.fdiv(self._v(x), self._v(y), flags=FLAGS)

    def neg(self, x):
        if self.is_int:
            return self.b.neg(x)
        return self.b.fneg(x, flags=FLAGS)

    def fma(self, x, y, z):
        return self.add(self.mul(x, y), z)

    def cmp(self, pred, x, y):
        """Ordered comparison (false when either side is NaN)."""
        if self.is_int:
            return self.b.icmp_signed(pred, self._v(x), self._v(y))
        return self.b.fcmp_ordered(pred, self._v(x), self._v(y))

    def select(self, cond, x, y):
        return self.b.select(cond, self._v(x), self._v(y))

    def max(self, x, y):
        """max with NaN propagation from ``x`` (as numpy.maximum does for the first argument)."""
        if self.is_int:
            return self.select(self.cmp(">", x, y), x, y)
        return self.select(self.b.fcmp_unordered(">", self._v(x), self._v(y)), x, y)

    def min(self, x, y):
        if self.is_int:
            return self.select(self.cmp("<", x, y), x, y)
        return self.select(self.b.fcmp_unordered("<", self._v(x), self._v(y)), x, y)

    def clip(self, x, lo, hi):
        return self.min(self.max(x, lo), hi)

    def intrinsic_suffix(self):
        """The type suffix of LLVM's overloaded intrinsics for this emitter's values."""
        return "f32" if self.dtype == "float32" else "f64"

    def intrinsic(self, name, *args):
        """Call a float intrinsic (llvm.fabs, llvm.sqrt, ...) that lowers to an instruction."""
        full = f"{name}.{self.intrinsic_suffix()}"
        fn = self.module.globals.get(full)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(self.ty, [self.ty] * len(args)), full)
        return self.b.call(fn, [self._v(a) for a in args])

    def abs(self, x):
        if self.is_int:
            return self.select(self.cmp("<", x, 0), self.neg(x), x)
        return self.intrinsic("llvm.fabs", x)

    def sqrt(self, x):
        return self.intrinsic("llvm.sqrt", x)

    def floor(self, x):
        return self.intrinsic("llvm.floor", x)

    def copysign(self, mag, sign):
        return self.intrinsic("llvm.copysign", mag, sign)

    def is_nan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

    def poly(self, x, coeffs):
        """Horner evaluation of sum(coeffs[k] * x**k)."""
        acc = self.c(coeffs[-1])
        for a in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, a)
        return acc

    # --- transcendental functions ---------------------------------------------------------
    def _pow2i(self, n_int):
        """2**n as a float for an integer n in the normal exponent range."""
        ity, mant, bias = _FP[self.dtype][:3]
        bits = self.b.shl(self.b.add(n_int, ir.Constant(ity, bias)), ir.Constant(ity, mant))
        return self.b.bitcast(bits, self.ty)

    def exp(self, x):
        ity, _, _, lo, hi, deg, _, _, ln2_hi, ln2_lo, _ = _FP[self.dtype]
        b = self
        xc = b.min(b.max(x, lo), hi)
        n = b.floor(b.fma(xc, 1.0 / math.log(2.0), 0.5))
        r = b.sub(b.sub(xc, b.mul(n, ln2_hi)), b.mul(n, ln2_lo))
        p = b.poly(r, [1.0 / math.factorial(k) for k in range(deg + 1)])
        ni = self.b.fptosi(n, ity)
        n1 = self.b.ashr(ni, ir.Constant(ity, 1))
        res = b.mul(b.mul(p, self._pow2i(n1)), self._pow2i(self.b.sub(ni, n1)))
        res = b.select(b.cmp(">", x, hi), math.inf, b.select(b.cmp("<", x, lo), 0.0, res))
        return b.select(b.is_nan(x), x, res)

    def expm1(self, x):
        """exp(x) - 1, accurate for small |x| (Taylor series there, exp(x) - 1 elsewhere)."""
        deg = _FP[self.dtype][7]
        small = self.poly(x, [0.0] + [1.0 / math.factorial(k) for k in range(1, deg + 1)])
        return self.select(self.cmp("<", self.abs(x), 0.5), small, self.sub(self.exp(x), 1.0))

    def log(self, x):
        ity, mant, bias, _, _, _, terms, _, ln2_hi, ln2_lo, tiny_scale = _FP[self.dtype]
        b, bb = self, self.b
        min_normal = 2.0 ** (1 - bias)
        tiny = b.cmp("<", x, min_normal)
        xs = b.select(tiny, b.mul(x, tiny_scale), x)
        eadj = b.select(tiny, -math.log2(tiny_scale), 0.0)
        bits = bb.bitcast(xs, ity)
        e = bb.sub(bb.lshr(bits, ir.Constant(ity, mant)), ir.Constant(ity, bias))
        mbits = bb.or_(bb.and_(bits, ir.Constant(ity, (1 << mant) - 1)), ir.Constant(ity, bias << mant))
        m = bb.bitcast(mbits, self.ty)  # in [1, 2)
        big = b.cmp(">", m, math.sqrt(2.0))
        m = b.select(big, b.mul(m, 0.5), m)
        ef = b.add(b.add(bb.sitofp(e, self.ty), b.select(big, 1.0, 0.0)), eadj)
        s = b.div(b.sub(m, 1.0), b.add(m, 1.0))
        s2 = b.mul(s, s)
        series = b.poly(s2, [1.0 / (2 * k + 1) for k in range(terms)])
        logm = b.mul(b.mul(s, 2.0), series)
        res = b.add(b.mul(ef, ln2_hi), b.add(logm, b.mul(ef, ln2_lo)))
        res = b.select(b.cmp("==", x, 0.0), -math.inf, res)
        res = b.select(b.cmp("==", x, math.inf), math.inf, res)
        return b.select(bb.fcmp_unordered("<", x, self.c(0.0)), math.nan, b.select(b.is_nan(x), x, res))

    def log1p(self, x):
        u = self.add(x, 1.0)
        d = self.sub(u, 1.0)
        exact = self.div(self.mul(self.log(u), x), d)
        return self.select(self.cmp("==", d, 0.0), x, self.select(self.cmp("==", u, math.inf), u, exact))

    def tanh(self, x):
        em = self.expm1(self.mul(self.abs(x), -2.0))
        t = self.div(self.neg(em), self.add(em, 2.0))
        return self.select(self.is_nan(x), x, self.copysign(t, x))

    def sigmoid(self, x):
        return self.div(1.0, self.add(self.exp(self.neg(x)), 1.0))

    def softplus(self, x):
        return self.add(self.max(x, 0.0), self.log1p(self.exp(self.neg(self.abs(x)))))

    # --- trigonometric and hyperbolic functions (polynomials, no libm calls; see ops/trig.py) --------
    def _terms(self, f32, f64):
        return f32 if self.dtype == "float32" else f64

    def _sincos_reduced(self, x):
        """(sin r, cos r, n) with x = n * pi/2 + r, |r| <= pi/4 (Cody-Waite with Cephes's three-part pi/2,
        whose leading parts times n are exact: accurate for |x| up to about 1e5 in float64 and 1e3 in
        float32; beyond, the absolute error grows with |x| as with any fixed-precision reduction)."""
        p1, p2, p3 = ((1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8) if self.dtype == "float32" else
                      (1.57079625129699707031, 7.54978941586159635336e-8, 5.39030285815811905290e-15))
        n = self.floor(self.fma(x, 2.0 / math.pi, 0.5))
        r = self.sub(self.sub(self.sub(x, self.mul(n, p1)), self.mul(n, p2)), self.mul(n, p3))
        r2 = self.mul(r, r)
        k = self._terms(7, 11)
        sin_r = self.mul(r, self.poly(r2, [(-1) ** i / math.factorial(2 * i + 1) for i in range(k)]))
        cos_r = self.poly(r2, [(-1) ** i / math.factorial(2 * i) for i in range(k + 1)])
        return sin_r, cos_r, n

    def _quadrant(self, n):
        """n mod 4 as an integer in [0, 4) (n is a whole float; its size was checked by the caller)."""
        ity = _FP[self.dtype][0]
        return self.b.and_(self.b.fptosi(n, ity), ir.Constant(ity, 3)), ity

    def _trig_guard(self, x, res):
        """NaN for +-inf and NaN inputs."""
        return self.select(self.cmp("<", self.abs(x), math.inf), res, math.nan)

    def sin(self, x):
        s, c, n = self._sincos_reduced(x)
        q, ity = self._quadrant(n)
        odd = self.b.icmp_unsigned("==", self.b.and_(q, ir.Constant(ity, 1)), ir.Constant(ity, 1))
        neg = self.b.icmp_unsigned("==", self.b.and_(q, ir.Constant(ity, 2)), ir.Constant(ity, 2))
        v = self.select(odd, c, s)
        return self._trig_guard(x, self.select(neg, self.neg(v), v))

    def cos(self, x):
        s, c, n = self._sincos_reduced(x)
        q, ity = self._quadrant(n)
        odd = self.b.icmp_unsigned("==", self.b.and_(q, ir.Constant(ity, 1)), ir.Constant(ity, 1))
        # cos(r + q pi/2): q=0 cos, 1 -sin, 2 -cos, 3 sin
        neg = self.b.icmp_unsigned("==", self.b.and_(self.b.add(q, ir.Constant(ity, 1)), ir.Constant(ity, 2)),
                                   ir.Constant(ity, 2))
        v = self.select(odd, s, c)
        return self._trig_guard(x, self.select(neg, self.neg(v), v))

    def tan(self, x):
        s, c, n = self._sincos_reduced(x)
        q, ity = self._quadrant(n)
        odd = self.b.icmp_unsigned("==", self.b.and_(q, ir.Constant(ity, 1)), ir.Constant(ity, 1))
        return self._trig_guard(x, self.select(odd, self.neg(self.div(c, s)), self.div(s, c)))

    def atan(self, x):
        """|x| > 1 -> pi/2 - atan(1/|x|); then t -> t / (1 + sqrt(1 + t^2)) (atan halves, |t| <= 0.415)
        and a Taylor series there; signed."""
        ax = self.abs(x)
        big = self.cmp(">", ax, 1.0)
        t = self.select(big, self.div(1.0, ax), ax)
        u = self.div(t, self.add(self.sqrt(self.fma(t, t, 1.0)), 1.0))
        u2 = self.mul(u, u)
        k = self._terms(10, 23)
        a = self.mul(self.mul(u, self.poly(u2, [(-1) ** i / (2 * i + 1) for i in range(k)])), 2.0)
        a = self.select(big, self.sub(math.pi / 2, a), a)
        return self.select(self.is_nan(x), x, self.copysign(a, x))

    def _asin_small(self, z):
        """asin(z) for 0 <= z <= 0.5 (1 - z^2 is exact enough there)."""
        return self.atan(self.div(z, self.sqrt(self.sub(1.0, self.mul(z, z)))))

    def asin(self, x):
        ax = self.abs(x)
        big = self.cmp(">", ax, 0.5)
        z = self.sqrt(self.mul(self.sub(1.0, ax), 0.5))
        a = self.select(big, self.sub(math.pi / 2, self.mul(self._asin_small(z), 2.0)),
                        self._asin_small(self.select(big, 0.0, ax)))
        res = self.copysign(a, x)
        return self.select(self.cmp("<=", ax, 1.0), res, math.nan)

    def acos(self, x):
        ax = self.abs(x)
        big = self.cmp(">", ax, 0.5)
        z = self.sqrt(self.mul(self.sub(1.0, ax), 0.5))
        edge = self.mul(self._asin_small(z), 2.0)  # acos(|x|) for |x| > 0.5
        mid = self.sub(math.pi / 2, self._asin_small(self.select(big, 0.0, ax)))  # acos(|x|), |x| <= 0.5
        pos = self.select(big, edge, mid)
        mid_signed = self.add(math.pi / 2, self._asin_small(self.select(big, 0.0, ax)))
        neg = self.select(big, self.sub(math.pi, edge), mid_signed)
        res = self.select(self.cmp("<", x, 0.0), neg, pos)
        return self.select(self.cmp("<=", ax, 1.0), res, math.nan)

    def sinh(self, x):
        ax = self.abs(x)
        x2 = self.mul(x, x)
        small = self.mul(x, self.poly(x2, [1.0 / math.factorial(2 * i + 1) for i in range(self._terms(6, 10))]))
        e = self.exp(ax)
        large = self.copysign(self.sub(self.mul(e, 0.5), self.div(0.5, e)), x)
        return self.select(self.cmp("<", ax, 1.0), small, self.select(self.is_nan(x), x, large))

    def cosh(self, x):
        e = self.exp(self.abs(x))
        return self.add(self.mul(e, 0.5), self.div(0.5, e))

    def asinh(self, x):
        """log1p(|x| + x^2 / (1 + sqrt(1 + x^2))) (accurate near 0); log(|x|) + ln 2 where x^2 overflows."""
        ax = self.abs(x)
        x2 = self.mul(ax, ax)
        mid = self.log1p(self.add(ax, self.div(x2, self.add(self.sqrt(self.add(x2, 1.0)), 1.0))))
        huge = self.add(self.log(ax), math.log(2.0))
        a = self.select(self.cmp(">", ax, self._terms(1e18, 1e150)), huge, mid)
        return self.select(self.is_nan(x), x, self.copysign(a, x))

    def acosh(self, x):
        """log1p(t + sqrt(2t + t^2)) with t = x - 1 (accurate near 1); log(x) + ln 2 for huge x; NaN below 1."""
        t = self.sub(x, 1.0)
        mid = self.log1p(self.add(t, self.sqrt(self.fma(t, t, self.mul(t, 2.0)))))
        huge = self.add(self.log(x), math.log(2.0))
        a = self.select(self.cmp(">", x, self._terms(1e18, 1e150)), huge, mid)
        return self.select(self.cmp(">=", x, 1.0), a, math.nan)

    def atanh(self, x):
        """0.5 * log1p(2|x| / (1 - |x|)), signed; +-inf at +-1, NaN beyond."""
        ax = self.abs(x)
        a = self.mul(self.log1p(self.div(self.mul(ax, 2.0), self.sub(1.0, ax))), 0.5)
        a = self.select(self.cmp("==", ax, 1.0), math.inf, a)
        return self.select(self.cmp("<=", ax, 1.0), self.copysign(a, x), math.nan)
