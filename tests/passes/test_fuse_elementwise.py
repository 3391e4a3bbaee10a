"""Loop fusion: Before/Expected structure, identical numerics with fusion on and off."""
import numpy as np
import pytest

import graphc
from graphc import keras
from graphc.ir import GraphBuilder
from graphc.passes import fuse_elementwise
from graphc.passes.pipeline import UNFUSED, run


def _chain():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 5))
    bias = b.const(np.arange(5, dtype=np.float32), "bias")
    y = b.op("Tanh", [b.op("Relu", [b.op("Add", [x, bias], name="a")], name="r")], name="t")
    z = b.op("Mul", [y, b.const(np.float32(2.0), "two")], name="m")
    b.output(z, y)  # y is also a graph output: it must stay materialized
    return b.g


def test_elementwise_chain_becomes_one_loop_keeping_needed_values():
    g = fuse_elementwise(run(_chain(), UNFUSED))
    ops = g.ops()
    assert [(op.domain, op.op_type) for op in ops] == [("graphc", "Fused")]
    assert set(g.op_outputs(ops[0])) == {"t", "m"} and "a" not in g.nx and "r" not in g.nx
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    y = np.tanh(np.maximum(x + np.arange(5), 0))
    z, yy = graphc.compile(_chain()).run([x])
    np.testing.assert_allclose(yy, y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(z, 2 * y, rtol=1e-6, atol=1e-6)


def test_no_fusion_across_a_non_elementwise_op_that_would_make_a_cycle():
    b = GraphBuilder()
    x = b.input("x", "float32", (4, 4))
    a = b.op("Relu", [x], name="a")
    mm = b.op("MatMul", [a, a], name="mm")  # leaves the group...
    c = b.op("Add", [a, mm], name="c")       # ...and comes back
    b.output(b.op("Exp", [c], name="e"))
    g = fuse_elementwise(run(b.g, UNFUSED))
    g.verify()
    xv = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    ar = np.maximum(xv, 0)
    np.testing.assert_allclose(graphc.compile(b.g).run([xv])[0], np.exp(ar + ar @ ar), rtol=1e-5)


def _train(fuse, monkeypatch):
    monkeypatch.setenv("GRAPHC_FUSE", "1" if fuse else "0")
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 6)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    hist = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    return model, hist.history["loss"], model.get_weights(), model.predict(x, verbose=0)


def test_training_is_identical_with_fusion_on_and_off(monkeypatch):
    fused_model, *fused = _train(True, monkeypatch)
    plain_model, *plain = _train(False, monkeypatch)
    np.testing.assert_allclose(fused[0], plain[0], rtol=1e-5)
    for a, b in zip(fused[1], plain[1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused[2], plain[2], rtol=1e-5, atol=1e-6)
    step = next(iter(fused_model._train_programs.values())).exe.graph
    updates = [step.producer(new) for new, old in step.aliases.items() if step.value(old).role == "param"]
    # every parameter's Adam update is a fused loop writing in place, and all of them are one
    # multi-tensor op (passes/fuse_updates; BatchNorm's moving statistics come out of the BN
    # kernel and are copied: they are not elementwise)
    assert len(updates) == 6 and {op.op_type for op in updates} == {"MultiFused"} and len({u.name for u in updates}) == 1
    # ... and the slot updates (m, v) come out of the same loop as the parameter: one pass per parameter
    for new, old in step.aliases.items():
        if step.value(old).role == "param":
            slots = [n for n, o in step.aliases.items() if o.endswith(old.replace(".", "_") + "_momentum")
                     or o.endswith(old.replace(".", "_") + "_velocity")]
            assert len(slots) == 2 and {step.producer(n).name for n in slots} == {step.producer(new).name}, old
    plain_step = next(iter(plain_model._train_programs.values())).exe.graph
    assert len(step.ops()) < len(plain_step.ops()) / 2
