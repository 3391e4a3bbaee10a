"""graphc.ConvLSTM: forward against an independent numpy loop (Keras ConvLSTM2D semantics, written
from the Keras equations per time step), gradients against float64 finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError, UnsupportedOpError
from tests.harness import assert_close, check_grad

ACT = {"tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
       "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1), "linear": lambda x: x}


def conv2d(x, w, stride=(1, 1), dil=(1, 1), pads=(0, 0, 0, 0)):
    """x (B, C, H, W), w (M, C, kh, kw): direct loops over output positions."""
    xp = np.pad(x, [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])])
    M, _, kh, kw = w.shape
    ho = (xp.shape[2] - (kh - 1) * dil[0] - 1) // stride[0] + 1
    wo = (xp.shape[3] - (kw - 1) * dil[1] - 1) // stride[1] + 1
    y = np.zeros((x.shape[0], M, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride[0]:i * stride[0] + (kh - 1) * dil[0] + 1:dil[0],
                       j * stride[1]:j * stride[1] + (kw - 1) * dil[1] + 1:dil[1]]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y


def oracle(x, w, r, bias, h0, c0, mask, strides=(1, 1), dil=(1, 1), pads=(0, 0, 0, 0), act="tanh",
           ract="sigmoid", reverse=False, zero_out=False):
    B, T = x.shape[:2]
    F = w.shape[0] // 4
    rk = r.shape[2:]
    rp = ((rk[0] - 1) // 2, (rk[1] - 1) // 2, rk[0] - 1 - (rk[0] - 1) // 2, rk[1] - 1 - (rk[1] - 1) // 2)
    a, ra = ACT[act], ACT[ract]
    h, c = h0.copy(), c0.copy()
    ys = []
    for s in range(T):
        t = T - 1 - s if reverse else s
        z = conv2d(x[:, t], w, strides, dil, pads) + conv2d(h, r, pads=rp) + bias[None, :, None, None]
        i, f, g, o = ra(z[:, :F]), ra(z[:, F:2 * F]), a(z[:, 2 * F:3 * F]), ra(z[:, 3 * F:])
        cn = f * c + i * g
        hn = o * a(cn)
        m = mask[:, t][:, None, None, None]
        ys.append(m * hn + (1 - m) * (0 * h if zero_out else h))
        h, c = m * hn + (1 - m) * h, m * cn + (1 - m) * c
    return np.stack(ys, 1), h, c


def _inputs(rng, B=2, T=3, C=2, H=5, W=4, F=3, k=(3, 2), rk=(3, 3), dtype=np.float64, geo=None):
    geo = geo or {}
    x = rng.standard_normal((B, T, C, H, W)).astype(dtype)
    w = (0.4 * rng.standard_normal((4 * F, C) + k)).astype(dtype)
    r = (0.4 * rng.standard_normal((4 * F, F) + rk)).astype(dtype)
    bias = (0.3 * rng.standard_normal(4 * F)).astype(dtype)
    st, dl, pd = geo.get("strides", (1, 1)), geo.get("dilations", (1, 1)), geo.get("pads", (0, 0, 0, 0))
    ho = (H + pd[0] + pd[2] - (k[0] - 1) * dl[0] - 1) // st[0] + 1
    wo = (W + pd[1] + pd[3] - (k[1] - 1) * dl[1] - 1) // st[1] + 1
    h0 = (0.5 * rng.standard_normal((B, F, ho, wo))).astype(dtype)
    c0 = (0.5 * rng.standard_normal((B, F, ho, wo))).astype(dtype)
    return x, w, r, bias, h0, c0


def _run(inputs, attrs, symbolic_batch=False):
    from graphc.ir import GraphBuilder, dtype_name
    b = GraphBuilder(name="convlstm")
    names = []
    for i, x in enumerate(inputs):
        if x is None:
            names.append(None)
            continue
        shape = (("N",) + x.shape[1:]) if symbolic_batch and i in (0, 4, 5, 6) else x.shape
        names.append(b.input(f"x{i}", dtype_name(x.dtype), shape))
    outs = b.op("ConvLSTM", names, n_out=3, domain="graphc", **attrs)
    b.output(*outs)
    exe = graphc.compile(b.g)
    return exe, [x for x in inputs if x is not None]


CASES = [
    dict(),
    dict(geo=dict(strides=(2, 1), pads=(1, 0, 1, 1)), attrs=dict(activation="relu", recurrent_activation="hard_sigmoid")),
    dict(geo=dict(dilations=(2, 1)), rk=(2, 3), attrs=dict(reverse=1)),
    dict(B=1, T=1, attrs=dict(activation="linear")),
    dict(mask=True),
    dict(mask=True, attrs=dict(zero_output_for_mask=1, reverse=1)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy_loop(case, dtype):
    cfg = dict(CASES[case])
    rng = np.random.default_rng(case)
    geo = cfg.pop("geo", {})
    attrs = cfg.pop("attrs", {})
    use_mask = cfg.pop("mask", False)
    x, w, r, bias, h0, c0 = _inputs(rng, dtype=dtype, geo=geo, **cfg)
    B, T = x.shape[:2]
    mask = (rng.random((B, T)) > 0.4).astype(dtype) if use_mask else None
    full = {**geo, **attrs}
    ins = [x, w, r, bias, h0, c0, mask]
    exe, feeds = _run(ins, full)
    got = exe.run(feeds)
    want = oracle(*(v.astype(np.float64) for v in (x, w, r, bias, h0, c0)),
                  np.ones((B, T)) if mask is None else mask.astype(np.float64),
                  geo.get("strides", (1, 1)), geo.get("dilations", (1, 1)), geo.get("pads", (0, 0, 0, 0)),
                  attrs.get("activation", "tanh"), attrs.get("recurrent_activation", "sigmoid"),
                  bool(attrs.get("reverse")), bool(attrs.get("zero_output_for_mask")))
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    for a, e, name in zip(got, want, ("Y", "Y_h", "Y_c")):
        assert_close(a, e, rtol=rtol, atol=rtol, what=name)


def test_optional_inputs_absent_and_symbolic_batch():
    rng = np.random.default_rng(7)
    x, w, r, bias, h0, c0 = _inputs(rng, B=3, T=2)
    exe, feeds = _run([x, w, r, None, None, None, None], {}, symbolic_batch=True)
    z = np.zeros_like(h0)
    for n in (3, 1):
        got = exe.run([x[:n], w, r])
        want = oracle(x[:n], w, r, np.zeros(w.shape[0]), z[:n], z[:n], np.ones((n, 2)))
        for a, e in zip(got, want):
            assert_close(a, e, rtol=1e-9, atol=1e-9)


def test_bad_shapes_raise():
    rng = np.random.default_rng(0)
    x, w, r, bias, h0, c0 = _inputs(rng)
    with pytest.raises(ShapeError, match="R expected"):
        _run([x, w, r[:, :2], bias], {})
    with pytest.raises(ShapeError, match="initial_h expected"):
        _run([x, w, r, bias, h0[:, :, :1]], {})
    with pytest.raises(ShapeError, match="rank 5"):
        _run([x[0], w, r], {})
    with pytest.raises(UnsupportedOpError, match="activation"):
        _run([x, w, r], {"activation": "gelu"})


GRAD_CASES = [
    dict(B=1, T=1, C=1, H=3, W=3, F=1, k=(2, 2), rk=(2, 2)),
    dict(B=2, T=3, C=2, H=4, W=3, F=2, k=(2, 2), rk=(3, 2), attrs=dict(strides=(2, 1), pads=(1, 0, 0, 1))),
    dict(B=1, T=3, C=1, H=3, W=4, F=2, k=(1, 2), rk=(2, 2),
         attrs=dict(reverse=1, activation="relu", recurrent_activation="hard_sigmoid", dilations=(1, 2))),
    dict(B=2, T=3, C=1, H=3, W=3, F=1, k=(2, 2), rk=(2, 2), mask=True),
    dict(B=2, T=3, C=1, H=3, W=3, F=1, k=(2, 2), rk=(3, 3), mask=True, attrs=dict(zero_output_for_mask=1)),
]


@pytest.mark.parametrize("case", range(len(GRAD_CASES)))
def test_gradients_match_finite_differences(case):
    cfg = dict(GRAD_CASES[case])
    attrs = cfg.pop("attrs", {})
    use_mask = cfg.pop("mask", False)
    rng = np.random.default_rng(100 + case)
    geo = {k: attrs[k] for k in ("strides", "pads", "dilations") if k in attrs}
    x, w, r, bias, h0, c0 = _inputs(rng, geo=geo, **cfg)
    B, T = x.shape[:2]
    mask = np.array([[1, 0, 1], [0, 1, 1]][:B], dtype=np.float64)[:, :T] if use_mask else None
    check_grad("ConvLSTM", [x, w, r, bias, h0, c0, mask], attrs, n_out=3, domain="graphc",
               const_slots=(6,) if use_mask else (), rtol=1e-5, atol=1e-7)


def test_gradient_of_sequence_output_only():
    rng = np.random.default_rng(5)
    x, w, r, bias, _, _ = _inputs(rng, B=1, T=2, C=1, H=3, W=3, F=1, k=(2, 2), rk=(2, 2))
    check_grad("ConvLSTM", [x, w, r, bias], {}, n_out=3, out_weights=[1, 0, 0], domain="graphc")
