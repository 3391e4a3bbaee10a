"""graphc.RandomDropout: the counter-based generator reproduced bit for bit by the numpy reference,
its statistics, per-step masks without recompiling, Keras noise_shape broadcasting, the gradient."""
import networkx as nx
import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder
from graphc.ops import registry
from graphc.ops.random import stream_key, uniform
from graphc.passes.autodiff import autodiff
from harness import check_grad


def dropout_program(shape, dtype="float32", n_out=2, **attrs):
    """RandomDropout(x, counter) with a symbolic batch; returns (executable, op)."""
    b = GraphBuilder(name="dropout")
    x = b.input("x", dtype, ("N",) + tuple(shape[1:]))
    c = b.input("counter", "int64", ())
    outs = b.op("RandomDropout", [x, c], n_out=n_out, domain="graphc", **attrs)
    b.output(*(outs if isinstance(outs, list) else [outs]))
    exe = graphc.compile(b.g)
    return exe, next(iter(exe.graph.ops()))


def _x(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,noise_shape", [
    ((4, 37), None),
    ((2, 3, 5, 7), None),
    ((2, 5, 7, 3), [-1, 1, 1, 3]),  # Keras SpatialDropout2D (channels_last): one draw per image and channel
    ((3, 4, 6), [1, 4, 1]),
    ((2, 1, 5), [-1, 1, 5]),  # a size-1 axis of X
])
def test_kernel_matches_reference_bit_for_bit(shape, noise_shape, dtype):
    exe, op = dropout_program(shape, dtype, rate=0.3, seed=1234, noise_shape=noise_shape)
    for n, counter in ((shape[0], 0), (1, 1), (5, 2 ** 40 + 3), (shape[0], -7)):
        x = _x((n,) + shape[1:], dtype, seed=counter & 0xFF)
        got = exe.run([x, np.int64(counter)])
        want = registry.run_reference(op, [x, np.int64(counter)])
        for g, w in zip(got, want):
            assert g.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(g, w)


def test_reference_generator_is_splitmix64():
    """The stream of (seed, counter) is splitmix64's sequence from stream_key(seed, counter)."""
    def splitmix64(state, n):
        out, m = [], (1 << 64) - 1
        for _ in range(n):
            state = (state + 0x9E3779B97F4A7C15) & m
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
            out.append(z ^ (z >> 31))
        return out
    key = int(stream_key(42, 9))
    want = np.array([(z >> 11) * 2.0 ** -53 for z in splitmix64(key, 64)])
    np.testing.assert_array_equal(uniform(42, 9, 64), want)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_kept_fraction_and_scaling(rate):
    """keep ~ Bernoulli(1 - rate) per element (within 5 sigma); Y = X * mask / (1 - rate) (Keras)."""
    shape = (64, 1000)
    exe, _ = dropout_program(shape, rate=rate, seed=7)
    x = _x(shape) + 3.0
    y, mask = exe.run([x, np.int64(11)])
    n = mask.size
    sigma = np.sqrt(rate * (1 - rate) / n)
    assert abs(mask.mean() - (1 - rate)) < 5 * sigma
    assert set(np.unique(mask).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, np.where(mask == 1, x * np.float32(1 / (1 - rate)), 0).astype(np.float32))
    # roughly uniform: the uniforms behind the mask fill ten bins evenly
    counts = np.histogram(uniform(7, 11, n), bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - n / 10) < 5 * np.sqrt(n / 10))


def test_counters_give_different_masks_same_counter_same_mask():
    exe, _ = dropout_program((8, 256), rate=0.5, seed=3)
    x = _x((8, 256))
    masks = [exe.run([x, np.int64(c)])[1] for c in (0, 1, 2, 0)]
    np.testing.assert_array_equal(masks[0], masks[3])  # same step, same mask
    for a, b in ((0, 1), (1, 2), (0, 2)):
        agree = np.mean(masks[a] == masks[b])
        assert 0.4 < agree < 0.6, agree  # independent draws agree about half the time
    other_seed, _ = dropout_program((8, 256), rate=0.5, seed=4)
    assert 0.4 < np.mean(other_seed.run([x, np.int64(0)])[1] == masks[0]) < 0.6
    assert exe.native_calls == 4  # one compiled program serves every step


def test_noise_shape_broadcasts_the_mask():
    shape = (4, 6, 5, 8)
    exe, _ = dropout_program(shape, rate=0.5, seed=9, noise_shape=[-1, 1, 1, 8])
    _, mask = exe.run([_x(shape), np.int64(5)])
    np.testing.assert_array_equal(mask, np.broadcast_to(mask[:, :1, :1, :], shape))  # constant over axes 1, 2
    assert len({mask[i, 0, 0].tobytes() for i in range(4)}) > 1  # but drawn per image
    flat = mask[:, 0, 0, :]
    assert 0.2 < flat.mean() < 0.8


def test_rate_zero_is_identity():
    exe, _ = dropout_program((3, 7), rate=0.0)
    x = _x((3, 7))
    y, mask = exe.run([x, np.int64(1)])
    np.testing.assert_array_equal(y, x)
    assert mask.min() == 1.0


@pytest.mark.parametrize("noise_shape", [None, [1, 3, 1]])
def test_gradient(noise_shape):
    """dX = dY * mask / (1 - rate) vs finite differences (the mask output is in the loss too)."""
    check_grad("RandomDropout", [_x((2, 3, 4), "float64"), np.int64(5)],
               dict(rate=0.4, seed=3, noise_shape=noise_shape), n_out=2, domain="graphc")


def test_gradient_rule_uses_the_mask():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 5))
    y, mask = b.op("RandomDropout", [x, b.input("c", "int64", ())], n_out=2, domain="graphc", rate=0.25)
    loss = b.op("ReduceSum", [y], keepdims=0)
    gx = autodiff(b.g, loss, [x])[x]
    assert mask in nx.ancestors(b.g.nx, gx)


@pytest.mark.parametrize("attrs,counter,match", [
    (dict(rate=1.0), np.int64(0), r"rate expected a float in \[0, 1\)"),
    (dict(rate=-0.1), np.int64(0), r"rate expected"),
    (dict(noise_shape=[1, 2]), np.int64(0), "noise_shape expected 3 entries"),
    (dict(noise_shape=[1, 4, 1]), np.int64(0), "noise_shape expected"),
    ({}, np.zeros(2, np.int64), "counter expected an int64 scalar"),
    ({}, np.float64(0), "counter expected an int64 scalar"),
])
def test_errors(attrs, counter, match):
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3, 5))
    c = b.input("c", str(counter.dtype), counter.shape)
    with pytest.raises(ShapeError, match=match):
        b.op("RandomDropout", [x, c], n_out=2, domain="graphc", **attrs)
