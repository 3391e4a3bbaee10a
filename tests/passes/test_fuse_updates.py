"""Multi-tensor fusion of the optimizer update: Before/Expected graphs, numerics against the per-parameter
loops and numpy, in-place safety, 1 and 2 threads."""
import numpy as np
import pytest

import graphc
from graphc import keras
from graphc.ir import GraphBuilder
from graphc.keras.models.training import step_program
from graphc.passes import fuse_elementwise
from graphc.passes.fuse_updates import fuse_updates
from graphc.passes.pipeline import UNFUSED, run
from tests.harness import assert_close


def _updates_graph():
    """Two parameters updated in place by the same program (p - lr * g), one by another (p * decay)."""
    b = GraphBuilder()
    lr = b.input("lr", "float32", ())
    gs = [b.input(f"g{i}", "float32", s) for i, s in enumerate([(3, 5), (7,), (2, 2)])]
    ps = [b.param(f"p{i}", "float32", s) for i, s in enumerate([(3, 5), (7,), (2, 2)])]
    news = [b.op("Sub", [p, b.op("Mul", [g, lr], name=f"step{i}")], name=f"new{i}")
            for i, (p, g) in enumerate(zip(ps[:2], gs[:2]))]
    news.append(b.op("Mul", [ps[2], b.op("Exp", [gs[2]], name="e2")], name="new2"))
    loss = b.op("ReduceSum", [gs[0]], name="loss", keepdims=0)
    b.output(loss)
    for p, n in zip(ps, news):
        b.g.aliases[n] = p  # an in-place update of the parameter's buffer
    rng = np.random.default_rng(0)
    for p in ps:
        b.g.value(p).data = rng.standard_normal(b.g.value(p).type.shape).astype(np.float32)
    return b.g


def test_every_update_becomes_one_multi_tensor_op():
    before = fuse_elementwise(run(_updates_graph(), UNFUSED))
    assert sorted(op.op_type for op in before.ops()) == ["Fused", "Fused", "Fused", "ReduceSum"]
    g = fuse_updates(before)
    kinds = sorted(op.op_type for op in g.ops())
    assert kinds == ["MultiFused", "ReduceSum"]
    (mt,) = [op for op in g.ops() if op.op_type == "MultiFused"]
    # two programs: p - g * lr for p0 and p1 (one loop over a table of two tensors), p * exp(g) for p2
    assert sorted(grp[-1] for grp in mt.attrs["groups"]) == [1, 2]
    assert sorted(g.op_outputs(mt)) == ["new0", "new1", "new2"]
    assert {g.aliases[o] for o in g.op_outputs(mt)} == {"p0", "p1", "p2"}


@pytest.mark.parametrize("threads", [1, 2])
def test_multi_tensor_update_matches_numpy_in_place(threads, monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
    g = _updates_graph()
    p0 = [g.value(f"p{i}").data.copy() for i in range(3)]
    exe = graphc.compile(g)
    assert "MultiFused" in [op.op_type for op in exe.graph.ops()]
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal(s).astype(np.float32) for s in [(3, 5), (7,), (2, 2)]]
    lr = np.float32(0.25)
    exe.run([lr] + gs)
    exe.run([lr] + gs)  # twice: the second step reads the first one's in-place results
    want = [p0[0] - 2 * gs[0] * lr, p0[1] - 2 * gs[1] * lr, p0[2] * np.exp(gs[2]) ** 2]
    got = [exe._sources[f"p{i}"] for i in range(3)]  # the parameter buffers the program updated
    for a, w in zip(got, want):
        assert_close(a, w, rtol=1e-6, atol=1e-6)


def test_adam_updates_of_all_parameters_are_one_kernel_with_identical_results(monkeypatch):
    def fit(fuse):
        monkeypatch.setenv("GRAPHC_FUSE", "1" if fuse else "0")
        keras.backend.clear_session()
        keras.utils.set_random_seed(2)
        m = keras.Sequential([keras.Input((13,)), keras.layers.Dense(31, activation="relu"),
                              keras.layers.Dense(7, activation="tanh"), keras.layers.Dense(3, activation="softmax")])
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((37, 13)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 37)]
        for _ in range(3):
            m.train_on_batch(x, y)
        g = step_program(m, [y], True)[0].exe.graph
        return m.get_weights(), [op.op_type for op in g.ops()], [v.numpy() for v in m.optimizer.variables]

    w_on, ops_on, slots_on = fit(True)
    w_off, ops_off, slots_off = fit(False)
    assert ops_on.count("MultiFused") == 1 and "MultiFused" not in ops_off
    for a, b in zip(w_on + slots_on, w_off + slots_off):
        assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_print_passes_shows_the_graph_before_and_after_each_fusion_pass(capsys, monkeypatch):
    graphc.compile(_updates_graph(), print_passes=True)
    out = capsys.readouterr().out
    assert ": lowered ===" in out
    for name in ("fuse_elementwise", "fuse_epilogue", "fuse_updates"):
        assert f"after {name} ===" in out
    after = out.split("after fuse_updates ===")[1]
    assert "graphc.MultiFused(" in after and "graphc.MultiFused(" not in out.split("after fuse_updates ===")[0]
    from graphc import config
    monkeypatch.setattr(config, "DEBUG", 2)  # GRAPHC_DEBUG=2 prints the same for every compile
    graphc.compile(_updates_graph())
    assert "after fuse_updates ===" in capsys.readouterr().out
