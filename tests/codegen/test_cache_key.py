"""Disk-cache key: name-free canonical graph text; a hit skips IR construction and LLVM; a hit runs
exactly like a cold compile."""
import llvmlite.binding as llvm
import numpy as np
import pytest

import graphc
from graphc import codegen
from graphc.codegen.cache import canonical_text
from graphc.ir import GraphBuilder


def _gemm(names=("x", "w", "b"), n_in=6, n_out=4, dtype="float32", alpha=1.0, op_name=None):
    gb = GraphBuilder(name=f"g_{names[0]}")
    x = gb.input(names[0], dtype, ("N", n_in))
    w = gb.param(names[1], dtype, (n_in, n_out))
    b = gb.param(names[2], dtype, (n_out,))
    y = gb.op("Gemm", [x, w, b], name=op_name, alpha=alpha)
    gb.output(gb.op("Relu", [y]))
    rng = np.random.default_rng(0)
    gb.g.value(w).data = rng.standard_normal((n_in, n_out)).astype(dtype)
    gb.g.value(b).data = rng.standard_normal(n_out).astype(dtype)
    return gb.g


def test_canonical_text_ignores_names_but_not_shapes_attrs_or_dtypes():
    base = canonical_text(_gemm())
    # param names that sort the other way round, other input/op names: same text
    assert canonical_text(_gemm(names=("inp", "zz_kernel", "aa_bias"), op_name="my_gemm")) == base
    assert canonical_text(_gemm(n_out=5)) != base
    assert canonical_text(_gemm(dtype="float64")) != base
    assert canonical_text(_gemm(alpha=np.float32(1.0) + np.float32(2 ** -23))) != base  # exact float bits
    assert "zz_kernel" not in canonical_text(_gemm(names=("inp", "zz_kernel", "aa_bias")))


def test_plan_orders_weights_by_first_use_not_by_name():
    a = codegen.buffer_plan(_gemm(names=("x", "w", "b")))
    b = codegen.buffer_plan(_gemm(names=("x", "a_w", "z_b")))
    c = codegen.buffer_plan(_gemm(names=("x", "z_w", "a_b")))
    assert [(p.kind, p.type) for p in a] == [(p.kind, p.type) for p in b] == [(p.kind, p.type) for p in c]
    assert [p.name for p in c if p.kind == "param"] == ["z_w", "a_b"]


def test_renamed_graph_hits_and_runs_like_a_cold_compile(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    cold = graphc.compile(_gemm())
    assert not cold.compiled.from_cache
    renamed = _gemm(names=("inp", "zz_kernel", "aa_bias"), op_name="my_gemm")
    # a hit must not build LLVM IR, parse, optimize or emit anything
    def boom(*a, **k):
        raise AssertionError("LLVM used on a cache hit")
    for name in ("build_module", "parse", "optimize"):
        monkeypatch.setattr(codegen, name, boom)
    monkeypatch.setattr(llvm.TargetMachine, "emit_object", boom)
    monkeypatch.setattr(llvm, "create_pass_builder", boom)
    warm = graphc.compile(renamed)
    assert warm.compiled.from_cache and warm.compiled.cache_key == cold.compiled.cache_key
    x = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(warm.run([x])[0], cold.run([x])[0])


def test_different_shapes_attrs_dtypes_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    keys = {graphc.compile(g).compiled.cache_key
            for g in (_gemm(), _gemm(n_out=5), _gemm(dtype="float64"), _gemm(alpha=0.5))}
    assert len(keys) == 4
    assert len(list(tmp_path.glob("*.o"))) == 4


def _train_model(make_decoys, order_swapped):
    """A 6-5-3 MLP; ``make_decoys`` consumes auto names first (dense_2, dense_3 instead of dense, dense_1),
    ``order_swapped`` creates the second layer before the first (names sort the other way round)."""
    from graphc import keras
    from graphc.keras import layers
    if make_decoys:
        layers.Dense(1), layers.Dense(1)
    if order_swapped:
        d2 = layers.Dense(3, activation="softmax")
        d1 = layers.Dense(5, activation="relu")
    else:
        d1 = layers.Dense(5, activation="relu")
        d2 = layers.Dense(3, activation="softmax")
    inp = keras.Input((6,))
    m = keras.Model(inp, d2(d1(inp)))
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    return m


def test_keras_models_with_other_layer_names_share_the_train_step(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    cold = _train_model(False, False)
    warm = _train_model(True, True)
    assert [w.path for w in cold.weights] != [w.path for w in warm.weights]
    warm.set_weights(cold.get_weights())
    losses = [m.train_on_batch(x, y) for m in (cold, warm)]
    p_cold, p_warm = (next(iter(m._train_programs.values())).exe.compiled for m in (cold, warm))
    assert not p_cold.from_cache
    assert p_warm.from_cache and p_warm.cache_key == p_cold.cache_key
    assert losses[0] == losses[1]
    for a, b in zip(cold.get_weights(), warm.get_weights()):  # the in-place updates hit the right buffers
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cold.predict(x, verbose=0), warm.predict(x, verbose=0))
