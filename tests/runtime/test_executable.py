"""Executable: validation before native code, symbolic batch binding, one call per batch."""
import numpy as np
import pytest

import graphc
from graphc.errors import DTypeError, ShapeError
from graphc.ir import GraphBuilder


def _mlp(dtype="float32"):
    b = GraphBuilder(name="mlp")
    x = b.input("x", dtype, ("N", 4))
    w = b.param("w", dtype, (4, 3))
    b.g.value(w).data = np.arange(12, dtype=dtype).reshape(4, 3) / 10
    y = b.op("Relu", [b.op("Gemm", [x, w])])
    b.output(y)
    return b.g


def test_one_compiled_program_serves_every_batch_size_with_one_native_call_each():
    exe = graphc.compile(_mlp())
    w = exe.graph.value("w").data
    for n in (1, 7, 256, 0):
        x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
        before = exe.native_calls
        (y,) = exe.run([x])
        assert exe.native_calls == before + 1
        np.testing.assert_allclose(y, np.maximum(x @ w, 0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad, err, words", [
    (np.zeros((2, 5), np.float32), ShapeError, ["axis 1", "4", "(2, 5)"]),
    (np.zeros((2, 4, 1), np.float32), ShapeError, ["rank 2", "(2, 4, 1)"]),
    (np.zeros(4, np.float32), ShapeError, ["rank"]),
    (np.array([["a", "b", "c", "d"]]), DTypeError, ["<U1", "float32"]),
    (np.zeros((1, 4), np.complex64), DTypeError, ["complex64"]),
])
def test_bad_inputs_raise_valueerror_naming_expected_and_received(bad, err, words):
    exe = graphc.compile(_mlp())
    with pytest.raises(err) as info:
        exe.run([bad])
    assert isinstance(info.value, ValueError)
    for w in words:
        assert w in str(info.value)
    assert exe.native_calls == 0


def test_wrong_number_of_inputs_and_mismatched_batches():
    b = GraphBuilder(name="two")
    x, y = b.input("x", "float32", ("N", 3)), b.input("y", "float32", ("N", 3))
    b.output(b.op("Add", [x, y]))
    exe = graphc.compile(b.g)
    with pytest.raises(ShapeError, match="expected 2 input"):
        exe.run([np.zeros((2, 3), np.float32)])
    with pytest.raises(ShapeError, match="mismatched batch"):
        exe.run([np.zeros((2, 3), np.float32), np.zeros((5, 3), np.float32)])
    with pytest.raises(ShapeError, match="missing"):
        exe.run({"x": np.zeros((2, 3), np.float32)})
    out = exe.run({"x": np.ones((2, 3)), "y": np.ones((2, 3), np.int64)})  # castable dtypes are cast
    np.testing.assert_array_equal(out[0], 2 * np.ones((2, 3), np.float32))


def test_float64_program():
    exe = graphc.compile(_mlp("float64"))
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(exe.run([x])[0], np.maximum(x @ exe.graph.value("w").data, 0), rtol=1e-14)


def test_replaced_weight_buffer_is_refused_not_silently_stale():
    exe = graphc.compile(_mlp())
    exe.graph.value("w").data = np.zeros((4, 3), np.float32)
    with pytest.raises(graphc.GraphError, match="in place"):
        exe.run([np.zeros((1, 4), np.float32)])


def test_an_output_listed_twice_is_returned_twice():
    b = GraphBuilder(name="dup")
    x = b.input("x", "float32", ("N", 2))
    y = b.op("Relu", [x])
    b.output(y, y)
    out = graphc.compile(b.g).run([np.array([[-1, 2]], np.float32)])
    np.testing.assert_array_equal(out[0], [[0, 2]])
    np.testing.assert_array_equal(out[1], [[0, 2]])
    assert out[0] is not out[1]


def test_remembered_input_signatures_never_skip_a_check():
    """validate() remembers (shape, dtype, contiguity) signatures that passed unchanged; every other
    call still gets the full checks and conversions."""
    exe = graphc.compile(_mlp())
    w = exe.graph.value("w").data
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for _ in range(2):  # the second call takes the remembered path
        np.testing.assert_allclose(exe.run([x])[0], np.maximum(x @ w, 0), rtol=1e-6, atol=1e-6)
    assert len(exe._seen) == 1
    with pytest.raises(ShapeError, match="axis 1"):
        exe.run([np.zeros((3, 5), np.float32)])
    wide = np.asfortranarray(np.tile(x, (1, 1)))  # same shape and dtype, not C-contiguous: converted
    np.testing.assert_allclose(exe.run([wide])[0], np.maximum(x @ w, 0), rtol=1e-6, atol=1e-6)
    as64 = x.astype(np.float64)  # castable dtype: converted, never remembered
    np.testing.assert_allclose(exe.run([as64])[0], np.maximum(x @ w, 0), rtol=1e-6, atol=1e-6)
    assert len(exe._seen) == 1
    with pytest.raises(ShapeError, match="expected 1 input"):
        exe.run([x, x])


def test_index_range_inputs_are_checked_on_every_call():
    from graphc import keras
    m = keras.Sequential([keras.Input((3,), dtype="int64"), keras.layers.Embedding(10, 2)])
    ids = np.array([[1, 2, 3]], np.int64)
    m.predict_on_batch(ids)
    m.predict_on_batch(ids)
    with pytest.raises(ValueError, match="10"):
        m.predict_on_batch(np.array([[1, 2, 10]], np.int64))
