"""dW, dR and dB of RNN/LSTM accumulated inside the BPTT loop (kernels/rnn.py weight_grads_step):
when every row runs every step, each step's rows of the gate gradients are packed once and
``[x_t h_t-1 1]^T da_t`` is added to the accumulators of dW^T, dR^T and dB; without dX (``skip_dx``)
the kernel then keeps only one step's gate gradients.

Float64 central differences on shapes across the kernel's edges (batch 1, 3, 7, 9: row tiles and
their remainder; hidden 13 and 33: partial gate panels; one time step; input wider than hidden;
layout 1, reverse and bidirectional), torch autograd as the float32 oracle at a benchmark-like
shape, and bit-identical weights on 1 and 2 threads when the accumulation is split across them.
"""
import numpy as np
import pytest

import graphc
from graphc.ir import GraphBuilder
from graphc.passes.autodiff import autodiff
from harness import assert_close, check_grad
from test_grad_rnn import N_OUT, check, grad_inputs
from test_rnn_packed_step import train_lstm

CASES = [  # (cell, T, B, I, H, direction, layout)
    ("LSTM", 2, 9, 3, 13, "forward", 0),
    ("LSTM", 1, 7, 5, 4, "reverse", 0),
    ("LSTM", 2, 3, 2, 3, "bidirectional", 1),
    ("LSTM", 3, 1, 6, 2, "forward", 1),
    ("RNN", 2, 9, 2, 33, "bidirectional", 0),
    ("RNN", 3, 3, 4, 5, "reverse", 1),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_weight_grads_finite_differences(case):
    cell, T, B, I, H, direction, layout = case
    D = 2 if direction == "bidirectional" else 1
    ins = grad_inputs(cell, T, B, I, H, D, layout=layout, seed=T * 100 + B)
    check(cell, ins, dict(hidden_size=H, direction=direction, layout=layout))


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_weight_grads_without_dx_finite_differences(case):
    """No gradient to X: the grad op gets skip_dx=1 and its gate gradients hold one step (B x 4H)."""
    cell, T, B, I, H, direction, layout = case
    D = 2 if direction == "bidirectional" else 1
    ins = grad_inputs(cell, T, B, I, H, D, layout=layout, seed=T * 10 + B)
    wrt = [i for i, x in enumerate(ins) if x is not None and i not in (0, 4)]
    check_grad(cell, ins, dict(hidden_size=H, direction=direction, layout=layout), wrt=wrt, n_out=N_OUT[cell])


def _torch_lstm_grads(torch, x, W, R, Bv, h0, c0, ry, rh, rc):
    """dX, dW, dR, dB of sum(Y*ry) + sum(Y_h*rh) + sum(Y_c*rc) by torch autograd (ONNX gate order i, o, f, c)."""
    t = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in
         dict(x=x, W=W, R=R, B=Bv).items()}
    H = R.shape[-1]
    h, c = torch.tensor(h0[0]), torch.tensor(c0[0])
    ys = []
    for s in range(x.shape[0]):
        g = t["x"][s] @ t["W"][0].T + h @ t["R"][0].T + t["B"][0, :4 * H] + t["B"][0, 4 * H:]
        i, o, f, cc = (g[:, k * H:(k + 1) * H] for k in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cc)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    y = torch.stack(ys)[:, None]
    loss = (y * torch.tensor(ry)).sum() + (h[None] * torch.tensor(rh)).sum() + (c[None] * torch.tensor(rc)).sum()
    loss.backward()
    return [t[k].grad.numpy() for k in ("x", "W", "R", "B")]


def test_weight_grads_float32_against_torch():
    """float32 at a benchmark-like shape (full 8-row tiles, 256 gate columns, several steps)."""
    torch = pytest.importorskip("torch")
    T, B, I, H = 6, 37, 16, 64
    rng = np.random.default_rng(7)

    def r(*shape, scale=0.4):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    x, W, R, Bv, h0, c0 = r(T, B, I, scale=1.0), r(1, 4 * H, I), r(1, 4 * H, H), r(1, 8 * H), r(1, B, H), r(1, B, H)
    ry, rh, rc = r(T, 1, B, H, scale=1.0), r(1, B, H, scale=1.0), r(1, B, H, scale=1.0)
    gb = GraphBuilder(name="lstm_f32_grads")
    names = [gb.input(n, "float32", v.shape) for n, v in zip("xWRB", (x, W, R, Bv))]
    y, yh, yc = gb.op("LSTM", names + [None, gb.const(h0, name="h0"), gb.const(c0, name="c0")], n_out=3, hidden_size=H)
    terms = [gb.op("ReduceSum", [gb.op("Mul", [v, gb.const(w, name=f"r{k}")])], keepdims=0)
             for k, (v, w) in enumerate(((y, ry), (yh, rh), (yc, rc)))]
    loss = gb.op("Sum", terms)
    grads = autodiff(gb.g, loss, names)
    gb.output(loss, *[grads[n] for n in names])
    got = graphc.compile(gb.g).run([x, W, R, Bv])[1:]
    want = _torch_lstm_grads(torch, x, W, R, Bv, h0, c0, ry, rh, rc)
    for name, g, w in zip(("dX", "dW", "dR", "dB"), got, want):
        assert_close(g, w, rtol=2e-4, atol=2e-4 * float(np.abs(w).max()), what=name)


def test_weight_grads_identical_on_1_and_2_threads(monkeypatch):
    # batch 64, 64 units, 16 inputs: da R and h_t-1^T da_t (64 x 256 x 64 multiply-adds) split across threads
    w1, _ = train_lstm(1, monkeypatch, 5, (4, 16), 64, 0.1)
    w2, _ = train_lstm(2, monkeypatch, 5, (4, 16), 64, 0.1)
    for a, b in zip(w1, w2):
        assert np.array_equal(a, b)
