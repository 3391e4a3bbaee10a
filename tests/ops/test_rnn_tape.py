"""The recurrent ops' tape: in training graphs the forward op records what backpropagation through
time needs (attribute ``tape=1``, one more output) and the gradient op reads it instead of re-running
the forward loop.

Oracles: the gradient op without a tape (``graphc.ops.rnn.KEEP_TAPE = False``, the recompute path,
itself checked against float64 finite differences in test_grad_rnn.py), float64 central differences
of the tape graphs, and the forward op's outputs without a tape (inference graphs).
"""
import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder
from graphc.ops import registry
from graphc.ops import rnn as rnn_ops
from graphc.passes.autodiff import autodiff
from harness import assert_close, check_grad
from test_grad_rnn import MASK, N_OUT, grad_inputs

N_BASE = {"RNN": 6, "GRU": 6, "LSTM": 8}


def _graph(cell, ins, attrs, keep_tape, n_out=None, with_x=True):
    """loss = sum_k sum(out_k * r_k); outputs: the forward outputs, then d loss / d every float input
    but the masks. Returns (graph, feeds, forward op)."""
    rnn_ops.KEEP_TAPE = keep_tape
    try:
        b = GraphBuilder(name="tape")
        n_base = N_BASE[cell]
        names = [None if x is None else (b.const(x, name=f"c{i}") if i >= n_base or i == 4 else
                                         b.input(f"x{i}", "float64", x.shape)) for i, x in enumerate(ins)]
        domain = "graphc" if any(x is not None for x in ins[n_base:]) else ""
        outs = b.op(cell, names, n_out=n_out or N_OUT[cell], domain=domain, **attrs)
        outs = outs if isinstance(outs, list) else [outs]
        op = b.g.producer(outs[0])
        rng = np.random.default_rng(3)
        terms = [b.op("ReduceSum", [b.op("Mul", [o, b.const(rng.standard_normal(b.type(o).shape))])], keepdims=0)
                 for o in outs]
        loss = terms[0] if len(terms) == 1 else b.op("Sum", terms)
        wrt = [n for i, n in enumerate(names) if n is not None and i < n_base and i != 4 and (with_x or i)]
        grads = autodiff(b.g, loss, wrt)
        b.output(*outs, *[grads[n] for n in wrt])
    finally:
        rnn_ops.KEEP_TAPE = True
    feeds = [x for i, x in enumerate(ins) if x is not None and i < n_base and i != 4]
    return b.g, feeds, op


CASES = [
    ("RNN", dict(), {}),
    ("GRU", dict(linear_before_reset=0), {}),
    ("GRU", dict(linear_before_reset=1, direction="reverse"), {}),
    ("LSTM", dict(), {}),
    ("LSTM", dict(direction="bidirectional"), dict(D=2)),
    ("LSTM", dict(layout=1, direction="bidirectional"), dict(D=2, layout=1, lens=[3, 4])),
    ("GRU", dict(direction="bidirectional"), dict(D=2, lens=[4, 1, 0, 2], B=4)),
    ("RNN", dict(zero_output_for_mask=1), dict(mask=MASK, rmask=True)),
    ("LSTM", dict(direction="bidirectional"), dict(D=2, mask=MASK, rmask=True)),
    ("GRU", dict(linear_before_reset=0, layout=1), dict(mask=MASK, rmask=True, lens=[3, 4], layout=1)),
]
IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in {**a, **o}.items() if k != 'mask') or 'plain'}"
       f"{'-mask' if 'mask' in o else ''}" for c, a, o in CASES]


def _inputs(cell, opts, seed=0):
    opts = dict(opts)
    B = opts.pop("B", 2)
    return grad_inputs(cell, 4, B, 2, 3, seed=seed, **opts)


@pytest.mark.parametrize("cell,attrs,opts", CASES, ids=IDS)
def test_tape_matches_recompute(cell, attrs, opts):
    """Forward outputs and every gradient agree between the tape and the recompute paths (the same
    operations in the same order: equal to rounding)."""
    ins = _inputs(cell, opts)
    attrs = dict(hidden_size=3, **attrs)
    g_tape, feeds, op = _graph(cell, ins, attrs, keep_tape=True)
    assert op.attrs.get("tape") == 1 and op.domain == "graphc"
    g_plain, _, op_plain = _graph(cell, ins, attrs, keep_tape=False)
    assert not op_plain.attrs.get("tape")
    got = graphc.compile(g_tape).run(feeds)
    want = graphc.compile(g_plain).run(feeds)
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert_close(a, b, rtol=1e-12, atol=1e-12, what=f"output {k}")


@pytest.mark.parametrize("cell,attrs,opts", [CASES[i] for i in (1, 4, 8)], ids=[IDS[i] for i in (1, 4, 8)])
def test_tape_gradients_finite_differences(cell, attrs, opts):
    """The tape path (the default) against float64 central differences."""
    ins = _inputs(cell, opts, seed=4)
    n_base = N_BASE[cell]
    wrt = [i for i, x in enumerate(ins[:n_base]) if x is not None and i != 4]
    const = [i for i, x in enumerate(ins) if x is not None and (i >= n_base or i == 4)]
    domain = "graphc" if any(x is not None for x in ins[n_base:]) else ""
    check_grad(cell, ins, dict(hidden_size=3, **attrs), const_slots=tuple(const), wrt=wrt, n_out=N_OUT[cell],
               domain=domain)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_forward_outputs_same_with_tape(cell):
    """The forward op's outputs are identical whether it records a tape (training) or not (inference),
    also when the op had fewer outputs than the cell (the tape adds the missing ones first)."""
    ins = _inputs(cell, dict(D=2), seed=5)
    attrs = dict(hidden_size=3, direction="bidirectional")
    g, feeds, op = _graph(cell, ins, attrs, keep_tape=True, n_out=1)
    outs = g.op_outputs(op)
    assert len(outs) == N_OUT[cell] + 1
    # per direction and row: the gate pre-activations, h_{t-1}, and LSTM's c_{t-1} / GRU's r * h_{t-1}
    assert g.value(outs[-1]).type.shape == (2, 4, 2, {"RNN": 6, "GRU": 15, "LSTM": 18}[cell])
    y_train = graphc.compile(g).run(feeds)[0]
    b = GraphBuilder(name="infer")
    names = [None if x is None else (b.const(x, name=f"c{i}") if i == 4 else b.input(f"x{i}", "float64", x.shape))
             for i, x in enumerate(ins)]
    y = b.op(cell, names, n_out=1, **attrs)
    b.output(y)
    y_infer = graphc.compile(b.g).run(feeds)[0]
    np.testing.assert_array_equal(y_train, y_infer)


def test_grad_op_validates_tape():
    """A gradient op whose tape attribute and input disagree, or whose tape has the wrong shape, is
    rejected before code is generated."""
    ins = _inputs("LSTM", {})
    g, _, op = _graph("LSTM", ins, dict(hidden_size=3), keep_tape=True)
    grad_op = next(o for o in g.ops() if registry.is_op(o, "LSTMGrad", "graphc"))
    grad_op.attrs["tape"] = 0
    with pytest.raises(ShapeError, match="tape"):
        graphc.compile(g)
    b = GraphBuilder()
    x = b.input("x", "float32", (4, 2, 2))
    w = b.input("w", "float32", (1, 3, 2))
    r = b.input("r", "float32", (1, 3, 3))
    dy = b.input("dy", "float32", (4, 1, 2, 3))
    tape = b.input("tape", "float32", (1, 4, 2, 7))  # RNN's tape is 3 + 3 wide
    with pytest.raises(ShapeError, match="tape expected"):
        b.op("RNNGrad", [x, w, r, None, None, None, None, None, dy, None, tape], n_out=5, domain="graphc",
             hidden_size=3, tape=1)


def test_keras_training_graph_keeps_tape_inference_does_not():
    from graphc import keras
    L = keras.layers
    m = keras.Sequential([keras.Input((5, 3)), L.LSTM(4), L.Dense(1)])
    m.compile(keras.optimizers.Adam(1e-3), "mse")
    x = np.random.default_rng(0).standard_normal((6, 5, 3)).astype("float32")
    y = np.zeros((6, 1), "float32")
    p0 = m.predict(x, verbose=0)
    m.train_on_batch(x, y)
    from graphc.keras.models.training import _lower_step, y_signature
    sig = y_signature(m, [y])
    g_train, _ = _lower_step(m, sig, True)
    g_test, _ = _lower_step(m, sig, False)
    rec = [op for op in g_train.ops() if registry.is_op(op, "LSTM", "graphc")]
    assert len(rec) == 1 and rec[0].attrs.get("tape") == 1
    infer = [op for op in g_test.ops() if registry.is_op(op, "LSTM")]
    assert len(infer) == 1 and not infer[0].attrs.get("tape")
    np.testing.assert_array_equal(m.predict(x, verbose=0), m.predict(x, verbose=0))
    assert not np.array_equal(m.predict(x, verbose=0), p0)  # trained: the weights moved


@pytest.mark.parametrize("cell,attrs,opts", [CASES[i] for i in (0, 4, 9)], ids=[IDS[i] for i in (0, 4, 9)])
def test_skip_dx(cell, attrs, opts):
    """When no gradient flows to X (a graph input), the gradient op skips dX (skip_dx=1); every other
    gradient is unchanged."""
    ins = _inputs(cell, opts, seed=6)
    attrs = dict(hidden_size=3, **attrs)
    g_all, feeds, _ = _graph(cell, ins, attrs, keep_tape=True)
    g_nox, _, _ = _graph(cell, ins, attrs, keep_tape=True, with_x=False)
    skips = [op.attrs.get("skip_dx") for g in (g_all, g_nox) for op in g.ops()
             if registry.is_op(op, f"{cell}Grad", "graphc")]
    assert skips == [0, 1]
    got = graphc.compile(g_nox).run(feeds)
    want = graphc.compile(g_all).run(feeds)
    n_fwd = N_OUT[cell]
    want = want[:n_fwd] + want[n_fwd + 1:]  # without dX
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert_close(a, b, rtol=1e-12, atol=1e-12, what=f"output {k}")
