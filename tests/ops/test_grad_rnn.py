"""Backpropagation through time (graphc.RNNGrad/GRUGrad/LSTMGrad) against float64 central differences.

Every differentiable input (X, W, R, B, initial_h, initial_c, P) of every cell type, both
directions, with sequence_lens, the graphc variants' mask and recurrent_mask, batch 1 and one
time step. Shapes stay small: each check runs the compiled program twice per input element.
"""
import numpy as np
import pytest

import graphc
from graphc.ir import GraphBuilder
from graphc.passes.autodiff import autodiff
from harness import assert_close, check_grad

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
N_OUT = {"RNN": 2, "GRU": 2, "LSTM": 3}


def grad_inputs(cell, T, B, I, H, D=1, lens=None, mask=None, rmask=False, peep=True, layout=0, seed=0):
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    st = (B, D, H) if layout else (D, B, H)

    def r(*shape, scale=0.5):
        return rng.standard_normal(shape) * scale

    ins = [r(*((B, T, I) if layout else (T, B, I)), scale=1.0), r(D, G * H, I), r(D, G * H, H), r(D, 2 * G * H),
           None if lens is None else np.asarray(lens, np.int32), r(*st)]
    if cell == "LSTM":
        ins += [r(*st), r(D, 3 * H) if peep else None]
    if mask is not None or rmask:
        m = None if mask is None else np.asarray(mask, np.float64)
        if m is not None and layout:
            m = m.T.copy()
        ins += [m, (rng.random((D, B, H)) > 0.3) / 0.7 if rmask else None]
    return ins


def check(cell, ins, attrs, domain="", n_out=None):
    n_base = 8 if cell == "LSTM" else 6
    wrt = [i for i, x in enumerate(ins[:n_base]) if x is not None and i != 4]
    const = [i for i, x in enumerate(ins) if x is not None and i >= n_base]  # mask, recurrent_mask
    if any(x is not None for x in ins[n_base:]):
        domain = "graphc"
    return check_grad(cell, ins, dict(attrs), const_slots=tuple(const) + ((4,) if ins[4] is not None else ()),
                      wrt=wrt, n_out=n_out or N_OUT[cell], domain=domain)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_grad_directions(cell, direction):
    D = 2 if direction == "bidirectional" else 1
    check(cell, grad_inputs(cell, 3, 2, 2, 3, D, seed=1), dict(hidden_size=3, direction=direction))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("shape", [(1, 1, 2, 3), (4, 1, 1, 2), (1, 3, 2, 1)], ids=str)
def test_grad_small_shapes(cell, shape):
    T, B, I, H = shape
    check(cell, grad_inputs(cell, T, B, I, H, seed=2), dict(hidden_size=H))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_grad_sequence_lens(cell, direction):
    D = 2 if direction == "bidirectional" else 1
    check(cell, grad_inputs(cell, 4, 4, 2, 3, D, lens=[4, 1, 0, 2], seed=3), dict(hidden_size=3, direction=direction))


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_grad_gru_linear_before_reset(lbr, direction):
    check("GRU", grad_inputs("GRU", 3, 2, 2, 3, seed=4), dict(hidden_size=3, direction=direction,
                                                              linear_before_reset=lbr))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_grad_layout_1(cell):
    check(cell, grad_inputs(cell, 3, 2, 2, 3, 2, layout=1, lens=[3, 2], seed=5),
          dict(hidden_size=3, direction="bidirectional", layout=1))


@pytest.mark.parametrize("peep", [False, True])
def test_grad_lstm_input_forget(peep):
    check("LSTM", grad_inputs("LSTM", 3, 2, 2, 3, peep=peep, seed=6), dict(hidden_size=3, input_forget=1))


ACTS = [
    ("RNN", ["Softsign"]), ("RNN", ["ScaledTanh"]), ("RNN", ["Softplus"]),
    ("GRU", ["Sigmoid", "Elu"]), ("LSTM", ["Sigmoid", "Softsign", "Affine"]),
]


@pytest.mark.parametrize("cell,acts", ACTS, ids=[f"{c}-{'-'.join(a)}" for c, a in ACTS])
def test_grad_activations(cell, acts):
    check(cell, grad_inputs(cell, 3, 2, 2, 3, seed=7),
          dict(hidden_size=3, activations=acts, activation_alpha=[0.7], activation_beta=[1.3]))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_grad_clip(cell):
    """Gate inputs beyond the clip get no gradient (the inputs keep clear of the threshold)."""
    check(cell, grad_inputs(cell, 3, 2, 2, 3, seed=8), dict(hidden_size=3, clip=0.9))


MASK = [[1, 1], [0, 1], [1, 0], [1, 1]]  # [T, B]: row 0 skips step 1, row 1 skips step 2


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("zero_output", [0, 1])
def test_grad_mask(cell, direction, zero_output):
    D = 2 if direction == "bidirectional" else 1
    ins = grad_inputs(cell, 4, 2, 2, 3, D, mask=MASK, rmask=True, seed=9)
    check(cell, ins, dict(hidden_size=3, direction=direction, zero_output_for_mask=zero_output))


@pytest.mark.parametrize("cell", ["GRU", "LSTM"])
def test_grad_mask_with_lens_layout_1(cell):
    ins = grad_inputs(cell, 4, 2, 2, 3, 1, lens=[3, 4], mask=MASK, rmask=True, layout=1, seed=10)
    attrs = dict(hidden_size=3, layout=1, linear_before_reset=0) if cell == "GRU" else dict(hidden_size=3, layout=1)
    check(cell, ins, attrs)


def test_grad_single_output_used():
    """Only Y_h reaches the loss: the absent dY / dY_c slots are zero gradients."""
    ins = grad_inputs("LSTM", 3, 2, 2, 3, seed=11)
    b = GraphBuilder()
    names = [None if x is None else b.input(f"x{i}", "float64", x.shape) for i, x in enumerate(ins)]
    outs = b.op("LSTM", names, n_out=3, hidden_size=3)
    loss = b.op("ReduceSum", [b.op("Mul", [outs[1], outs[1]])], keepdims=0)
    wrt = [n for n in names if n is not None]
    grads = autodiff(b.g, loss, wrt)
    b.output(loss, *[grads[n] for n in wrt])
    exe = graphc.compile(b.g)
    ins = [x for x in ins if x is not None]
    got = exe.run(ins)
    eps = 1e-6
    for slot in (0, 2, 6):  # X, R, P (sequence_lens is absent)
        x = ins[slot]
        num = np.zeros_like(x)
        for j in range(x.size):
            orig = x.flat[j]
            x.flat[j] = orig + eps
            up = exe.run(ins)[0]
            x.flat[j] = orig - eps
            down = exe.run(ins)[0]
            x.flat[j] = orig
            num.flat[j] = (up - down) / (2 * eps)
        assert_close(got[1 + slot], num, rtol=1e-5, atol=1e-8, what=f"slot {slot}")
