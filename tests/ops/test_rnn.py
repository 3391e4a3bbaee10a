"""ONNX RNN, GRU, LSTM forward kernels against onnxruntime, onnx.reference and the numpy reference.

onnx.reference ignores sequence_lens, activations, clip and input_forget, so it is an oracle
only for configurations without them; onnxruntime (CPU) covers the rest.
"""
import numpy as np
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc
from graphc.errors import ShapeError, UnsupportedOpError
from graphc.ir import OPSET, GraphBuilder, dtype_name, onnx_dtype
from graphc.ops import registry
from harness import assert_close, onnx_reference

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
N_OUT = {"RNN": 2, "GRU": 2, "LSTM": 3}
SLOTS = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]


def make_inputs(cell, T, B, I, H, direction="forward", layout=0, bias=True, lens=None, h0=False, c0=False,
                peep=False, dtype="float32", seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    D = 2 if direction == "bidirectional" else 1
    G = GATES[cell]

    def r(*shape):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    st = (B, D, H) if layout else (D, B, H)
    ins = {"X": r(*((B, T, I) if layout else (T, B, I))), "W": r(D, G * H, I), "R": r(D, G * H, H),
           "B": r(D, 2 * G * H) if bias else None,
           "sequence_lens": None if lens is None else np.asarray(lens, dtype=np.int32),
           "initial_h": r(*st) if h0 else None}
    if cell == "LSTM":
        ins["initial_c"] = r(*st) if c0 else None
        ins["P"] = r(D, 3 * H) if peep else None
    return ins


def as_list(cell, ins):
    slots = SLOTS[:8] if cell == "LSTM" else SLOTS[:6]
    out = [ins.get(s) for s in slots]
    while out and out[-1] is None:
        out.pop()
    return out


def run_ort(op_type, inputs, attrs, n_out):
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    outs = [f"out{i}" for i in range(n_out)]
    node = oh.make_node(op_type, names, outs, **{k: v for k, v in attrs.items() if v is not None})
    gi = [oh.make_tensor_value_info(n, onnx_dtype(dtype_name(x.dtype)), x.shape) for n, x in zip(names, inputs)
          if x is not None]
    go = [oh.make_tensor_value_info(o, onnx_dtype(dtype_name(inputs[0].dtype)), None) for o in outs]
    model = oh.make_model(oh.make_graph([node], "t", gi, go), opset_imports=[oh.make_opsetid("", OPSET)])
    model.ir_version = 8
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {n: x for n, x in zip(names, inputs) if x is not None})


def compile_op(op_type, inputs, attrs, n_out, domain=""):
    b = GraphBuilder(name=f"test_{op_type}")
    names = [None if x is None else b.input(f"x{i}", dtype_name(x.dtype), x.shape) for i, x in enumerate(inputs)]
    outs = b.op(op_type, names, n_out=n_out, domain=domain, **attrs)
    b.output(*outs)
    return graphc.compile(b.g), b.g


def check_rnn(cell, ins, attrs, oracles=("ort", "ref"), rtol=1e-5, atol=None, n_out=None):
    """Compile ``cell`` and compare every output with the chosen oracles and the numpy reference."""
    n_out = n_out or N_OUT[cell]
    inputs = as_list(cell, ins)
    exe, g = compile_op(cell, inputs, attrs, n_out)
    got = exe.run([x for x in inputs if x is not None])
    mine = registry.run_reference(next(iter(g.ops())), inputs)
    expected = {}
    with np.errstate(over="ignore"):  # onnx.reference's sigmoid overflows at the extremes
        if "ref" in oracles:
            expected["onnx.reference"] = onnx_reference(cell, inputs, attrs, n_out)
    if "ort" in oracles:
        expected["onnxruntime"] = run_ort(cell, inputs, attrs, n_out)
    for who, outs in expected.items():
        for k, (a, e) in enumerate(zip(got, outs)):
            assert_close(a, e, rtol, atol, f"{cell} output {k} vs {who}")
            assert_close(mine[k], e, rtol, atol, f"{cell} numpy reference output {k} vs {who}")
    return got


SHAPES = [  # (T, B, I, H)
    (5, 3, 4, 7),
    (1, 1, 3, 5),   # one step, batch 1
    (7, 1, 2, 3),   # batch 1
    (1, 4, 5, 1),   # one step, hidden 1
    (4, 2, 1, 13),  # odd hidden
]


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_forward_shapes(cell, shape):
    T, B, I, H = shape
    check_rnn(cell, make_inputs(cell, T, B, I, H), dict(hidden_size=H))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_directions_initial_states(cell, direction, dtype):
    ins = make_inputs(cell, 4, 3, 5, 6, direction, h0=True, c0=True, peep=True, dtype=dtype, seed=1)
    check_rnn(cell, ins, dict(hidden_size=6, direction=direction),
              oracles=("ort", "ref") if dtype == "float32" else ("ref",))  # onnxruntime has no float64 RNNs


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_layout_1(cell, direction):
    """Batch-major layout: onnx.reference implements it (onnxruntime's CPU kernels do not)."""
    ins = make_inputs(cell, 4, 3, 2, 5, direction, layout=1, h0=True, c0=True, seed=2)
    check_rnn(cell, ins, dict(hidden_size=5, direction=direction, layout=1), oracles=("ref",))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_sequence_lens(cell, direction):
    ins = make_inputs(cell, 5, 5, 3, 4, direction, lens=[5, 2, 1, 0, 4], h0=True, c0=True, seed=3)
    check_rnn(cell, ins, dict(hidden_size=4, direction=direction), oracles=("ort",))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_sequence_lens_layout_1_matches_layout_0(cell):
    """layout=1 with sequence_lens has no external oracle: it must equal layout 0 transposed."""
    ins = make_inputs(cell, 5, 3, 3, 4, "bidirectional", lens=[3, 5, 1], h0=True, c0=True, seed=4)
    a0 = dict(hidden_size=4, direction="bidirectional")
    ref = check_rnn(cell, ins, a0, oracles=("ort",))
    ins1 = dict(ins, X=ins["X"].transpose(1, 0, 2).copy())
    for s in ("initial_h", "initial_c"):
        if ins1.get(s) is not None:
            ins1[s] = ins[s].transpose(1, 0, 2).copy()
    inputs = as_list(cell, ins1)
    exe, _ = compile_op(cell, inputs, dict(a0, layout=1), N_OUT[cell])
    got = exe.run([x for x in inputs if x is not None])
    assert_close(got[0], ref[0].transpose(2, 0, 1, 3), what="Y")
    for k in range(1, N_OUT[cell]):
        assert_close(got[k], ref[k].transpose(1, 0, 2), what=f"output {k}")


ACTS = [  # (cell, activations, alpha, beta) per direction; alpha/beta consumed in order by those that take them
    ("RNN", ["Relu"], None, None),
    ("RNN", ["Affine"], [0.5], [0.25]),
    ("RNN", ["LeakyRelu", "ScaledTanh"], [0.2, 0.7], [1.5]),
    ("GRU", ["HardSigmoid", "Softsign"], [0.3], [0.4]),
    ("GRU", ["Sigmoid", "Elu"], [0.8], None),
    ("LSTM", ["HardSigmoid", "Tanh", "Softplus"], [0.25], [0.45]),
    ("LSTM", ["Sigmoid", "ThresholdedRelu", "Tanh"], [0.1], None),
    ("LSTM", ["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "Elu", "Softsign"], [0.2, 0.5], [0.6]),
]


@pytest.mark.parametrize("cell,acts,alpha,beta", ACTS, ids=[f"{c}-{'-'.join(a)}" for c, a, _, _ in ACTS])
def test_activations(cell, acts, alpha, beta):
    n = {"RNN": 1, "GRU": 2, "LSTM": 3}[cell]
    direction = "bidirectional" if len(acts) == 2 * n else "forward"
    ins = make_inputs(cell, 4, 3, 3, 5, direction, h0=True, seed=5)
    attrs = dict(hidden_size=5, direction=direction, activations=acts, activation_alpha=alpha, activation_beta=beta)
    check_rnn(cell, ins, attrs, oracles=("ort",))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_clip(cell):
    ins = make_inputs(cell, 4, 3, 3, 5, "bidirectional", h0=True, seed=6, scale=1.5)
    check_rnn(cell, ins, dict(hidden_size=5, direction="bidirectional", clip=0.7), oracles=("ort",))


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru_linear_before_reset(lbr, direction):
    ins = make_inputs("GRU", 5, 2, 3, 4, direction, h0=True, lens=[5, 3], seed=7)
    check_rnn("GRU", ins, dict(hidden_size=4, direction=direction, linear_before_reset=lbr), oracles=("ort",))
    ins.pop("sequence_lens")
    check_rnn("GRU", ins, dict(hidden_size=4, direction=direction, linear_before_reset=lbr), oracles=("ref",))


@pytest.mark.parametrize("peep", [False, True])
def test_lstm_input_forget(peep):
    ins = make_inputs("LSTM", 4, 3, 3, 5, "bidirectional", h0=True, c0=True, peep=peep, seed=8)
    check_rnn("LSTM", ins, dict(hidden_size=5, direction="bidirectional", input_forget=1), oracles=("ort",))


def test_no_bias_no_hidden_size_attr():
    for cell in GATES:
        check_rnn(cell, make_inputs(cell, 3, 2, 4, 3, bias=False, seed=9), {}, oracles=("ref",))  # ORT needs it


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_symbolic_batch_and_time(cell):
    """One compiled kernel serves every batch size and sequence length (T and B are symbols)."""
    ins = make_inputs(cell, 4, 3, 2, 5, h0=True, c0=True, seed=10)
    b = GraphBuilder(name="sym")
    names = [b.input("x", "float32", ("T", "N", 2))]
    for s in SLOTS[1:4]:
        names.append(b.input(s, "float32", ins[s].shape))
    names += [None, b.input("h0", "float32", (1, "N", 5))]
    if cell == "LSTM":
        names.append(b.input("c0", "float32", (1, "N", 5)))
    outs = b.op(cell, names, n_out=N_OUT[cell], hidden_size=5)
    b.output(*outs)
    exe = graphc.compile(b.g)
    rng = np.random.default_rng(0)
    for T, B in ((4, 3), (1, 1), (6, 2)):
        feeds = [rng.standard_normal((T, B, 2)).astype(np.float32)] + [ins[s] for s in SLOTS[1:4]]
        feeds += [rng.standard_normal((1, B, 5)).astype(np.float32) for _ in range(N_OUT[cell] - 1)]
        got = exe.run(feeds)
        inputs = feeds[:4] + [None] + feeds[4:]
        want = run_ort(cell, inputs, dict(hidden_size=5), N_OUT[cell])
        for k, (a, e) in enumerate(zip(got, want)):
            assert_close(a, e, what=f"T={T} B={B} output {k}")


def test_large_values_saturate():
    ins = make_inputs("LSTM", 3, 2, 3, 4, seed=11, scale=30.0)
    check_rnn("LSTM", ins, dict(hidden_size=4), rtol=1e-5, atol=1e-5)


# --- validation ---------------------------------------------------------------------------------
def _build(cell, inputs, **attrs):
    b = GraphBuilder()
    names = [None if x is None else b.input(f"x{i}", dtype_name(x.dtype), x.shape) for i, x in enumerate(inputs)]
    return b.op(cell, names, n_out=N_OUT[cell], **attrs)


def test_validation_errors():
    ins = make_inputs("LSTM", 3, 2, 4, 5, h0=True, c0=True, peep=True)
    good = as_list("LSTM", ins)
    _build("LSTM", good, hidden_size=5)
    bad_cases = [
        (dict(hidden_size=6), "hidden_size"),
        (dict(direction="sideways"), "direction"),
        (dict(direction="bidirectional"), "W expected shape"),
        (dict(activations=["Sigmoid", "Tanh"]), "activations expected 3"),
        (dict(activations=["Sigmoid", "Tanh", "Gelu"]), "not supported"),
        (dict(layout=2), "layout"),
        (dict(clip=-1.0), "clip"),
    ]
    for attrs, msg in bad_cases:
        with pytest.raises((ShapeError, UnsupportedOpError), match=msg):
            _build("LSTM", good, **attrs)
    for slot, arr, msg in [
        (1, np.zeros((1, 20, 3), np.float32), "W expected shape"),
        (2, np.zeros((1, 16, 5), np.float32), "R expected shape"),
        (3, np.zeros((1, 41), np.float32), "B expected shape"),
        (4, np.zeros((3,), np.int32), "sequence_lens expected shape"),
        (4, np.zeros((2,), np.float32), "sequence_lens expected int32"),
        (5, np.zeros((1, 3, 5), np.float32), "initial_h expected shape"),
        (6, np.zeros((1, 2, 5), np.float64), "initial_c expected dtype"),
        (7, np.zeros((1, 14), np.float32), "P expected shape"),
        (0, np.zeros((3, 2), np.float32), "X expected rank 3"),
    ]:
        inputs = list(good)
        inputs[slot] = arr
        with pytest.raises(ShapeError, match=msg):
            _build("LSTM", inputs)


def test_runtime_shape_mismatch_is_python_error():
    """A symbolic batch binds at run time: mismatched inputs raise before native code runs."""
    b = GraphBuilder()
    x = b.input("x", "float32", (3, "N", 2))
    w, r = b.input("w", "float32", (1, 4, 2)), b.input("r", "float32", (1, 4, 4))
    h0 = b.input("h0", "float32", (1, "N", 4))
    outs = b.op("RNN", [x, w, r, None, None, h0], n_out=2)
    b.output(*outs)
    exe = graphc.compile(b.g)
    z = np.zeros
    with pytest.raises(ShapeError):
        exe.run([z((3, 2, 2), np.float32), z((1, 4, 2), np.float32), z((1, 4, 4), np.float32), z((1, 5, 4), np.float32)])


def test_sequence_lens_out_of_range_is_clamped():
    """Lengths outside [0, T] never read outside X: the kernel clamps them (and so does the reference)."""
    ins = make_inputs("GRU", 3, 3, 2, 4, lens=[7, -2, 2], seed=12)
    inputs = as_list("GRU", ins)
    exe, g = compile_op("GRU", inputs, dict(hidden_size=4), 2)
    got = exe.run([x for x in inputs if x is not None])
    mine = registry.run_reference(next(iter(g.ops())), inputs)
    for a, e in zip(got, mine):
        assert_close(a, e)
    assert np.all(got[0][:, :, 1] == 0)


# --- graphc variants: Keras masks ---------------------------------------------------------------
def keras_loop(cell, x, w, r, bias, h0, c0, mask, rmask, reverse, zero_output, lbr=1):
    """One direction as Keras's backend rnn runs it: the whole batch per step, ``where(mask, new, old)``.

    x [T, B, I]; w, r, bias, h0, c0, rmask of this direction in ONNX gate order; returns Y [T, B, H], h, c.
    """
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    T = x.shape[0]
    h, c = h0.copy(), c0.copy()
    ys = np.zeros((T,) + h.shape)
    wb, rb = np.split(bias, 2)
    for t in (reversed(range(T)) if reverse else range(T)):
        hm = h * rmask
        xw = x[t] @ w.T + wb
        if cell == "RNN":
            hn, cn = np.tanh(xw + hm @ r.T + rb), c
        elif cell == "GRU":
            xz, xr, xh = np.split(xw, 3, -1)
            rz, rr, rh = np.split(r, 3)
            bz, br, bh = np.split(rb, 3)
            z, rg = sig(xz + hm @ rz.T + bz), sig(xr + hm @ rr.T + br)
            cand = np.tanh(xh + rg * (hm @ rh.T + bh)) if lbr else np.tanh(xh + (rg * hm) @ rh.T + bh)
            hn, cn = z * h + (1 - z) * cand, c
        else:
            gi, go, gf, gc = np.split(xw + hm @ r.T + rb, 4, -1)
            cn = sig(gf) * c + sig(gi) * np.tanh(gc)
            hn = sig(go) * np.tanh(cn)
        m = mask[t][:, None] > 0
        ys[t] = np.where(m, hn, 0 if zero_output else h)
        h, c = np.where(m, hn, h), np.where(m, cn, c)
    return ys, h, c


def _variant_inputs(cell, T, B, D, layout, seed):
    ins = make_inputs(cell, T, B, 3, 4, "bidirectional" if D == 2 else "forward", layout=layout, h0=True, c0=True,
                      dtype="float64", seed=seed)
    rng = np.random.default_rng(seed + 100)
    mask = (rng.random((T, B)) > 0.35).astype(np.float64)
    mask[:, 0] = 1  # one row without masking
    rmask = (rng.random((D, B, 4)) > 0.3) / 0.7
    return ins, mask, rmask


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("zero_output", [0, 1])
@pytest.mark.parametrize("layout", [0, 1])
def test_graphc_variant_masks(cell, direction, zero_output, layout):
    D = 2 if direction == "bidirectional" else 1
    T, B = 5, 3
    ins, mask, rmask = _variant_inputs(cell, T, B, D, layout, seed=20 + D + 3 * zero_output + 7 * layout)
    n_base = 8 if cell == "LSTM" else 6
    inputs = [ins.get(s) for s in SLOTS[:n_base]] + [mask.T.copy() if layout else mask, rmask]
    attrs = dict(hidden_size=4, direction=direction, layout=layout, zero_output_for_mask=zero_output)
    exe, g = compile_op(cell, inputs, attrs, N_OUT[cell], domain="graphc")
    got = exe.run([x for x in inputs if x is not None])
    mine = registry.run_reference(next(iter(g.ops())), inputs)
    x = ins["X"].transpose(1, 0, 2) if layout else ins["X"]
    h0 = ins["initial_h"].transpose(1, 0, 2) if layout else ins["initial_h"]
    c0 = ins["initial_c"].transpose(1, 0, 2) if cell == "LSTM" and layout else ins.get("initial_c")
    for d in range(D):
        reverse = direction == "reverse" or d == 1
        ys, h, c = keras_loop(cell, x, ins["W"][d], ins["R"][d], ins["B"][d], h0[d],
                              np.zeros_like(h0[d]) if c0 is None else c0[d], mask, rmask[d], reverse, zero_output,
                              lbr=0)
        for k, out in enumerate((got, mine)):
            y = out[0].transpose(1, 2, 0, 3) if layout else out[0]
            yh = out[1].transpose(1, 0, 2) if layout else out[1]
            assert_close(y[:, d], ys, what=f"Y direction {d} ({'kernel' if k == 0 else 'numpy reference'})")
            assert_close(yh[d], h, what=f"Y_h direction {d}")
            if cell == "LSTM":
                yc = out[2].transpose(1, 0, 2) if layout else out[2]
                assert_close(yc[d], c, what=f"Y_c direction {d}")


@pytest.mark.parametrize("lbr", [0, 1])
def test_graphc_gru_masks_linear_before_reset(lbr):
    ins, mask, rmask = _variant_inputs("GRU", 4, 3, 1, 0, seed=31)
    inputs = [ins.get(s) for s in SLOTS[:6]] + [mask, rmask]
    exe, _ = compile_op("GRU", inputs, dict(hidden_size=4, linear_before_reset=lbr), 2, domain="graphc")
    got = exe.run([x for x in inputs if x is not None])
    ys, h, _ = keras_loop("GRU", ins["X"], ins["W"][0], ins["R"][0], ins["B"][0], ins["initial_h"][0],
                          np.zeros((3, 4)), mask, rmask[0], False, 0, lbr=lbr)
    assert_close(got[0][:, 0], ys, what="Y")
    assert_close(got[1][0], h, what="Y_h")


def test_graphc_variant_without_masks_equals_onnx():
    for cell in GATES:
        ins = make_inputs(cell, 4, 2, 3, 4, "bidirectional", lens=[4, 2], h0=True, c0=True, peep=True, seed=40)
        inputs = as_list(cell, ins)
        a = dict(hidden_size=4, direction="bidirectional")
        onnx_out = compile_op(cell, inputs, a, N_OUT[cell])[0].run([x for x in inputs if x is not None])
        graphc_out = compile_op(cell, inputs, a, N_OUT[cell], domain="graphc")[0].run([x for x in inputs if x is not None])
        for p, q in zip(onnx_out, graphc_out):
            np.testing.assert_array_equal(p, q)


def test_graphc_variant_mask_validation():
    ins, mask, rmask = _variant_inputs("LSTM", 4, 3, 1, 0, seed=41)
    base = [ins.get(s) for s in SLOTS[:8]]
    for m, rm, msg in [(mask.T.copy(), None, "mask expected shape"), (None, rmask[:, :2], "recurrent_mask expected"),
                       (mask.astype(np.float32), None, "mask expected dtype")]:
        with pytest.raises(ShapeError, match=msg):
            b = GraphBuilder()
            names = [None if x is None else b.input(f"x{i}", dtype_name(x.dtype), x.shape)
                     for i, x in enumerate(base + [m, rm])]
            b.op("LSTM", names, n_out=3, domain="graphc")


def test_graphc_variant_export_is_refused():
    from graphc.onnx.export import to_model_proto
    ins, mask, rmask = _variant_inputs("RNN", 3, 2, 1, 0, seed=42)
    b = GraphBuilder()
    names = [None if x is None else b.input(f"x{i}", dtype_name(x.dtype), x.shape)
             for i, x in enumerate([ins.get(s) for s in SLOTS[:6]] + [mask, None])]
    b.output(*b.op("RNN", names, n_out=2, domain="graphc"))
    with pytest.raises(UnsupportedOpError, match="graphc.RNN"):
        to_model_proto(b.g)
