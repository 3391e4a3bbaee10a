"""Per-call work: after the first call of a batch size, a call only validates, writes pointers and calls native code."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc
from graphc.ir import GraphBuilder
from graphc.keras.metrics import Mean
from graphc.keras.metrics.base import divide_no_nan
from graphc.runtime import executable as executable_mod


def _counting_plans(monkeypatch):
    calls = []
    real = executable_mod.plan_arena

    def spy(*a, **kw):
        calls.append(a[1])
        return real(*a, **kw)
    monkeypatch.setattr(executable_mod, "plan_arena", spy)
    return calls


def _graph():
    b = GraphBuilder(name="g")
    x = b.input("x", "float32", ("N", 5))
    w = b.param("w", "float32", (5, 4))
    b.g.value(w).data = np.arange(20, dtype=np.float32).reshape(5, 4) / 7
    b.output(b.op("Relu", [b.op("Neg", [b.op("MatMul", [x, w])])]))
    return b.g


def test_repeated_calls_plan_and_bind_once_per_batch_size(monkeypatch):
    plans = _counting_plans(monkeypatch)
    exe = graphc.compile(_graph(), fuse=False)
    x1, x3 = np.ones((1, 5), np.float32), np.ones((3, 5), np.float32)
    exe.run([x1])
    arena, table = exe._arena, exe.binding((1,)).table.copy()
    for _ in range(5):
        exe.run([x1])
    assert len(plans) == 1 and exe._arena is arena
    exe.run([x3])  # a new batch size plans once more (and may grow the shared arena)
    for _ in range(3):
        exe.run([x1])
        exe.run([x3])
    assert [p["N"] for p in plans] == [1, 3] and len(exe._bindings) == 2
    arena_slots = list(exe.binding((1,)).offsets)
    assert exe.binding((1,)).table[arena_slots].tolist() == [exe._arena_base + o for o in exe.binding((1,)).offsets.values()]
    w_slot = exe._slots["w"]
    assert exe.binding((1,)).table[w_slot] == table[w_slot] == exe.graph.value("w").data.ctypes.data


def test_outputs_are_fresh_arrays_and_inputs_of_any_writability_work():
    exe = graphc.compile(_graph())
    w = exe.graph.value("w").data
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    ro = x.copy()
    ro.flags.writeable = False
    a, = exe.run([x])
    b, = exe.run([ro])
    assert a is not b and not np.shares_memory(a, b)
    np.testing.assert_allclose(a, np.maximum(-(x @ w), 0), rtol=1e-6)
    np.testing.assert_array_equal(a, b)
    assert exe.run([np.zeros((0, 5), np.float32)])[0].shape == (0, 4)


def test_address_helper_matches_numpy():
    for arr in (np.zeros((3, 4), np.float32), np.zeros(0), np.arange(5.0)[::1]):
        assert executable_mod._address(arr) == arr.ctypes.data
    ro = np.ones(4)
    ro.flags.writeable = False
    assert executable_mod._address(ro) == ro.ctypes.data


def test_train_on_batch_is_one_native_call_without_replanning(monkeypatch):
    from graphc import keras
    plans = _counting_plans(monkeypatch)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((1, 4), np.float32), np.eye(3, dtype=np.float32)[[1]]
    m.train_on_batch(x, y)
    exe = next(iter(m._train_programs.values())).exe
    n_plans, calls = len(plans), exe.native_calls
    trackers = m._loss_tracker
    for i in range(4):
        logs = m.train_on_batch(x, y, return_dict=True)
        assert exe.native_calls == calls + i + 1
    assert len(plans) == n_plans and m._loss_tracker is trackers
    assert set(logs) == {"loss", "accuracy"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False, width=32), st.integers(0, 300)), min_size=1,
                max_size=6), st.sampled_from(["float32", "float64"]))
def test_scalar_mean_fast_path_matches_the_array_path(updates, dtype):
    fast, ref = Mean(dtype=dtype), Mean(dtype=dtype)
    for v, n in updates:
        fast.update_state(float(v), sample_weight=n)
        ref.update_state(np.asarray(v, np.float64), sample_weight=np.asarray(n))
    assert (fast.total, fast.count) == (ref.total, ref.count)
    expected = ref._out(divide_no_nan(ref.total, ref.count))  # the general result path
    np.testing.assert_array_equal(fast.result(), expected)
    assert type(fast.result()) is type(expected)
    assert Mean(dtype=dtype).result() == ref._out(divide_no_nan(0.0, 0.0)) == 0
    unweighted, ref2 = Mean(dtype=dtype), Mean(dtype=dtype)
    for v, _ in updates:
        unweighted.update_state(float(v))
        ref2.update_state(np.asarray(v))
    assert (unweighted.total, unweighted.count) == (ref2.total, ref2.count)
