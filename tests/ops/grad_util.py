"""Helpers of the gradient tests (tests/ops/test_grad_*.py).

- ``check_graphc_op``: a graphc-domain helper op, compiled, against its numpy reference
  (onnx.reference does not know graphc ops), in float32 and float64.
- ``check_vjp``: the gradient program of one op (seeded with a random dy, no finite differences)
  in float32 and/or with symbolic dims must agree with the float64 static program, which
  ``harness.check_grad`` validates against finite differences.
"""
from __future__ import annotations

import numpy as np

import graphc
from graphc.ir import GraphBuilder, dtype_name
from graphc.ops import registry
from graphc.passes.autodiff import autodiff
from harness import assert_close


def away(rng, shape, lo=0.05, scale=1.0):
    """Standard normals (times ``scale``) kept at least ``lo`` away from 0 (kinks of relu, abs, ...)."""
    x = rng.standard_normal(shape) * scale
    return np.where(np.abs(x) < lo, np.copysign(lo, x), x)


def _cast(x, dtype):
    return None if x is None else x.astype(dtype) if x.dtype.kind == "f" else x


def check_graphc_op(op_type, inputs, attrs=None, dtypes=("float32", "float64")):
    """Compile one graphc-domain op (every input fed at run time) and compare with its reference."""
    for dt in dtypes:
        ins = [_cast(np.asarray(x) if x is not None else None, dt) for x in inputs]
        b = GraphBuilder(name=f"fwd_{op_type}")
        names = [None if x is None else b.input(f"x{i}", dtype_name(x.dtype), x.shape) for i, x in enumerate(ins)]
        b.output(b.op(op_type, names, domain="graphc", **(attrs or {})))
        got = graphc.compile(b.g).run([x for x in ins if x is not None])[0]
        expected = registry.run_reference(next(iter(b.g.ops())), ins)[0]
        assert_close(got, expected, rtol=1e-5 if dt == "float32" else 1e-12, what=f"graphc.{op_type} ({dt})")


def _vjp_graph(op_type, inputs, attrs, const_slots, wrt, symbolic):
    """loss-free gradient program: inputs (+ dy seed) -> gradients of the ``wrt`` slots."""
    b = GraphBuilder(name=f"vjp_{op_type}")
    names = []
    for i, x in enumerate(inputs):
        if x is None:
            names.append(None)
        elif i in const_slots:
            names.append(b.const(x, name=f"c{i}"))
        else:
            shape = tuple("N" if symbolic.get(i) == a else d for a, d in enumerate(x.shape))
            names.append(b.input(f"x{i}", dtype_name(x.dtype), shape))
    y = b.op(op_type, names, **attrs)
    dy = b.input("dy", b.type(y).dtype, b.type(y).shape)
    grads = autodiff(b.g, y, [names[i] for i in wrt], seed=dy)
    b.output(*[grads[names[i]] for i in wrt])
    return graphc.compile(b.g), b.type(y)


def check_vjp(op_type, inputs, attrs=None, const_slots=(), float32=True, symbolic=None, batches=(1, 3), seed=0):
    """float32 and symbolic-dim gradient programs vs the float64 static one.

    ``symbolic`` maps input slot -> the axis that becomes the symbol N; the symbolic program is
    compiled once and run with N in ``batches`` (inputs resized cyclically along that axis).
    """
    attrs, symbolic = dict(attrs or {}), dict(symbolic or {})
    inputs = [None if x is None else np.asarray(x) for x in inputs]
    wrt = [i for i, x in enumerate(inputs) if x is not None and i not in const_slots and x.dtype.kind == "f"]
    rng = np.random.default_rng(seed)

    def feeds(ins, y_t):
        dy = rng.standard_normal(y_t.shape)
        return [x for i, x in enumerate(ins) if x is not None and i not in const_slots] + [dy.astype(y_t.dtype)]

    def resized(n):
        return [x if i not in symbolic else np.take(x, np.arange(n) % x.shape[symbolic[i]], axis=symbolic[i])
                for i, x in enumerate(inputs)]

    cases = [(inputs, None)] if float32 else []
    cases += [(resized(n), n) for n in (batches if symbolic else ())]
    sym_exe = _vjp_graph(op_type, [_cast(x, "float64") for x in inputs], attrs, const_slots, wrt, symbolic)[0] \
        if symbolic else None
    for ins, n in cases:
        exe64, y_t = _vjp_graph(op_type, [_cast(x, "float64") for x in ins], attrs, const_slots, wrt, {})
        f = feeds([_cast(x, "float64") for x in ins], y_t)
        expected = exe64.run(f)
        if n is None:  # float32 program
            exe32, _ = _vjp_graph(op_type, [_cast(x, "float32") for x in ins], attrs, const_slots, wrt, {})
            got = exe32.run([_cast(x, "float32") for x in f])
            for k, (g, e) in enumerate(zip(got, expected)):
                assert g.dtype == np.float32
                assert_close(g, e, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(e).max(initial=0))),
                             what=f"{op_type} float32 gradient {k}")
        else:
            got = sym_exe.run(f)
            for k, (g, e) in enumerate(zip(got, expected)):
                assert_close(g, e, rtol=1e-12, what=f"{op_type} gradient {k} with N={n}")
