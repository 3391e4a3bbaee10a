"""Loop and branch helpers for llvmlite's IRBuilder (numba cgutils style context managers)."""
from __future__ import annotations

import contextlib

from llvmlite import ir

I64 = ir.IntType(64)
I32 = ir.IntType(32)
I1 = ir.IntType(1)


def const(v, typ=I64):
    return ir.Constant(typ, v)


def as_value(v):
    return v if isinstance(v, ir.Value) else const(int(v))


@contextlib.contextmanager
def for_range(b: ir.IRBuilder, stop, start=0, step=1, name="i"):
    """``with for_range(b, n) as i:`` builds cond/body/end blocks and a phi; yields the index.

    The loop runs zero times when ``start >= stop`` (for positive ``step``).
    """
    start, stop, step = as_value(start), as_value(stop), as_value(step)
    pre = b.block
    fn = pre.function
    cond = fn.append_basic_block(f"{name}.cond")
    body = fn.append_basic_block(f"{name}.body")
    end = fn.append_basic_block(f"{name}.end")
    b.branch(cond)
    b.position_at_end(cond)
    idx = b.phi(I64, name=name)
    idx.add_incoming(start, pre)
    b.cbranch(b.icmp_signed("<", idx, stop), body, end)
    b.position_at_end(body)
    yield idx
    nxt = b.add(idx, step, name=f"{name}.next", flags=["nsw"])
    idx.add_incoming(nxt, b.block)
    b.branch(cond)
    b.position_at_end(end)


@contextlib.contextmanager
def loop_nest(b, stops, name="i"):
    """Nested for_range over ``stops`` (outermost first); yields the list of indices."""
    with contextlib.ExitStack() as stack:
        idxs = [stack.enter_context(for_range(b, s, name=f"{name}{k}")) for k, s in enumerate(stops)]
        yield idxs


def if_then(b, pred):
    return b.if_then(pred)


def product(b, values):
    out = const(1)
    for v in values:
        out = imul(b, out, v)
    return out


def imin(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def imax(b, x, y):
    return b.select(b.icmp_signed(">", x, y), x, y)


def ceil_div(b, x, y):
    """ceil(x / y) for x >= 0 and y > 0."""
    return b.sdiv(b.add(x, b.sub(as_value(y), const(1))), as_value(y))


def is_const(v, c=None):
    return isinstance(v, ir.Constant) and (c is None or v.constant == c)


def imul(b, x, y):
    """x * y on i64, folding multiplications by constants 0 and 1."""
    x, y = as_value(x), as_value(y)
    if is_const(x, 1) or is_const(y, 0):
        return y
    if is_const(y, 1) or is_const(x, 0):
        return x
    if is_const(x) and is_const(y):
        return const(x.constant * y.constant)
    return b.mul(x, y)


def iadd(b, x, y):
    """x + y on i64, folding additions of constant 0."""
    x, y = as_value(x), as_value(y)
    if is_const(x, 0):
        return y
    if is_const(y, 0):
        return x
    if is_const(x) and is_const(y):
        return const(x.constant + y.constant)
    return b.add(x, y)


def dot(b, idxs, strides):
    """sum(idx * stride) with constant folding."""
    off = const(0)
    for i, s in zip(idxs, strides):
        off = iadd(b, off, imul(b, i, s))
    return off


def phi_loop(b, n, step, accs, body, name):
    """``for k in range(0, n, step): accs = body(k, accs)`` with the carried values (accumulators,
    pointers) as phis; returns the final values (the initial ones when ``n <= 0``). ``body`` must not
    branch. For explicit vector kernels whose accumulators must stay in registers."""
    pre = b.block
    fn = pre.function
    loop = fn.append_basic_block(f"{name}.loop")
    done = fn.append_basic_block(f"{name}.done")
    b.cbranch(b.icmp_signed(">", n, const(0)), loop, done)
    b.position_at_end(loop)
    k = b.phi(const(0).type, name=name)
    k.add_incoming(const(0), pre)
    phis = [b.phi(a.type) for a in accs]
    for p, a in zip(phis, accs):
        p.add_incoming(a, pre)
    new = body(k, phis)
    nxt = b.add(k, const(step))
    end = b.block
    k.add_incoming(nxt, end)
    for p, v in zip(phis, new):
        p.add_incoming(v, end)
    b.cbranch(b.icmp_signed("<", nxt, n), loop, done)
    b.position_at_end(done)
    outs = []
    for a, v in zip(accs, new):
        o = b.phi(a.type)
        o.add_incoming(a, pre)
        o.add_incoming(v, end)
        outs.append(o)
    return outs
