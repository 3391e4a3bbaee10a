import numpy as np
import onnx
import pytest
from onnx import TensorProto

import graphc
from graphc.errors import ShapeError, UnsupportedOpError
from graphc.ir import GraphBuilder
from harness import build_op_graph, check_op

I64 = np.int64


def rand(shape, dtype=np.float32, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * 5
    return x.astype(dtype)


def ints(*v):
    return np.array(v, dtype=I64)


# --- Reshape ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,target", [
    ((3, 7), (7, 3)), ((3, 7), (-1,)), ((2, 3, 7), (0, -1)), ((2, 3, 7), (-1, 7)), ((1, 13), (13, 1, 1)),
    ((31,), (1, -1, 1)), ((2, 3, 4), (0, 0, -1)), ((2, 3, 4), (4, 0, 2)), ((1,), ()), ((), (1, 1))])
def test_reshape(shape, target):
    check_op("Reshape", [rand(shape), np.array(target, I64).reshape(len(target))], const_slots=(1,))


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.bool_])
def test_reshape_dtypes(dtype):
    check_op("Reshape", [rand((3, 2, 7), dtype), ints(7, -1)], const_slots=(1,))


def test_reshape_allowzero():
    check_op("Reshape", [rand((3, 4)), ints(2, 6)], {"allowzero": 1}, const_slots=(1,))
    out, _ = check_op("Reshape", [rand((0, 4)), ints(4, 0)], {"allowzero": 1}, const_slots=(1,))
    assert out[0].shape == (4, 0)


@pytest.mark.parametrize("target,expect", [((0, -1), ("N", 12)), ((-1, 12), ("N", 12)), ((0, 3, 2, 2), ("N", 3, 2, 2)),
                                           ((-1, 3, 4), ("N", 3, 4)), ((0, 12, 1), ("N", 12, 1))])
def test_reshape_symbolic_batch(target, expect):
    x = rand((5, 3, 4))
    _, exe = check_op("Reshape", [x, np.array(target, I64)], const_slots=(1,), symbolic_batch=True,
                      extra_batches=(1, 7))
    assert exe.graph.value(exe.graph.outputs[0]).type.shape == expect


@pytest.mark.parametrize("shape,target,symbolic", [
    ((3, 7), (4, 5), False), ((3, 7), (-1, 4), False), ((3, 7), (-1, -1), False), ((3, 7), (3, -2, 7), False),
    ((3, 7), (3, 0, 7, 0), False), ((0, 7), (0, -1), False),
    ((5, 3, 4), (-1, 4), True), ((5, 3, 4), (-1, 5), True), ((5, 3, 4), (2, 30), True)])
def test_reshape_bad_shape_raises(shape, target, symbolic):
    with pytest.raises(ShapeError, match=r"op '\w+' \(Reshape\)"):
        build_op_graph("Reshape", [rand(shape), np.array(target, I64)], {}, const_slots=(1,), symbolic_batch=symbolic)


def test_reshape_shape_must_be_const():
    with pytest.raises(ShapeError, match="constant"):
        build_op_graph("Reshape", [rand((3, 4)), ints(4, 3)], {})


def test_reshape_error_names_shapes():
    with pytest.raises(ShapeError) as e:
        build_op_graph("Reshape", [rand((3, 7)), ints(4, 5)], {}, const_slots=(1,))
    assert "(3, 7)" in str(e.value) and "[4, 5]" in str(e.value)


# --- Flatten ----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-3, -2, -1, 0, 1, 2, 3])
def test_flatten_axes(axis):
    check_op("Flatten", [rand((3, 1, 7))], {"axis": axis})


def test_flatten_symbolic_batch():
    _, exe = check_op("Flatten", [rand((4, 3, 5, 7))], {"axis": 1}, symbolic_batch=True, extra_batches=(1, 7))
    assert exe.graph.value(exe.graph.outputs[0]).type.shape == ("N", 105)
    check_op("Flatten", [rand((4, 1, 1))], {"axis": 2}, symbolic_batch=True, extra_batches=(1, 7))


def test_flatten_bad():
    with pytest.raises(ShapeError, match="Flatten"):
        build_op_graph("Flatten", [rand((3, 4))], {"axis": 3})
    with pytest.raises(ShapeError, match="symbol"):  # N*3 is not a dim graphc can represent
        build_op_graph("Flatten", [rand((4, 3, 5))], {"axis": 2}, symbolic_batch=True)


# --- Concat -----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-3, -2, -1, 0, 1, 2])
def test_concat_axes(axis):
    shapes = [[3, 7, 5], [3, 7, 5], [3, 7, 5]]
    for i, s in enumerate(shapes):
        s[axis] = (1, 13, 3)[i]
    check_op("Concat", [rand(s, seed=i) for i, s in enumerate(shapes)], {"axis": axis})


def test_concat_many_inputs_and_dtypes():
    check_op("Concat", [rand((2, k), seed=k) for k in (1, 3, 7, 13, 31)], {"axis": 1})
    check_op("Concat", [rand((3,), I64), rand((7,), I64)], {"axis": 0})
    check_op("Concat", [rand((3, 2), np.float64), rand((1, 2), np.float64)], {"axis": -2})
    check_op("Concat", [rand((3, 2))], {"axis": 1})


def test_concat_symbolic_batch():
    check_op("Concat", [rand((4, 3, 2)), rand((4, 5, 2), seed=1)], {"axis": 1}, symbolic_batch=True,
             extra_batches=(1, 7))
    check_op("Concat", [rand((4, 3, 2)), rand((4, 3, 7), seed=1)], {"axis": -1}, symbolic_batch=True,
             extra_batches=(1, 7))


def test_concat_bad():
    with pytest.raises(ShapeError, match=r"\(Concat\).*input 1"):
        build_op_graph("Concat", [rand((3, 2)), rand((3, 4))], {"axis": 0})
    with pytest.raises(ShapeError, match="Concat"):
        build_op_graph("Concat", [rand((3, 2)), rand((3, 2))], {"axis": 2})
    with pytest.raises(ShapeError, match="symbol"):
        build_op_graph("Concat", [rand((3, 2)), rand((3, 2))], {"axis": 0}, symbolic_batch=True)


# --- Squeeze / Unsqueeze ----------------------------------------------------------------
@pytest.mark.parametrize("axes", [None, (1,), (-1,), (1, 3), (-4, 1)])
def test_squeeze(axes):
    x = rand((1, 1, 7, 1))
    check_op("Squeeze", [x, None if axes is None else np.array(axes, I64)], const_slots=(1,))


def test_squeeze_bad_and_symbolic():
    with pytest.raises(ShapeError, match=r"\(Squeeze\).*expected size 1"):
        build_op_graph("Squeeze", [rand((1, 3)), ints(1)], {}, const_slots=(1,))
    check_op("Squeeze", [rand((3, 1, 7)), ints(1)], const_slots=(1,), symbolic_batch=True, extra_batches=(1, 7))


@pytest.mark.parametrize("axes", [(0,), (-1,), (0, 3), (1, 2), (-1, 0)])
def test_unsqueeze(axes):
    check_op("Unsqueeze", [rand((3, 7)), np.array(axes, I64)], const_slots=(1,))


def test_unsqueeze_bad_and_symbolic():
    with pytest.raises(ShapeError, match="Unsqueeze"):
        build_op_graph("Unsqueeze", [rand((3, 7)), ints(3)], {}, const_slots=(1,))
    with pytest.raises(ShapeError, match="repeat"):
        build_op_graph("Unsqueeze", [rand((3, 7)), ints(1, 1)], {}, const_slots=(1,))
    check_op("Unsqueeze", [rand((3, 7)), ints(1)], const_slots=(1,), symbolic_batch=True, extra_batches=(1, 7))


# --- Dropout ----------------------------------------------------------------------------
def test_dropout_inference():
    x = rand((3, 7))
    check_op("Dropout", [x])
    out, _ = check_op("Dropout", [x, np.float32(0.5)], n_out=2, const_slots=(1,))
    assert out[1].dtype == np.bool_ and out[1].all()
    check_op("Dropout", [x, np.float32(0.5), np.array(False)], n_out=2, const_slots=(1, 2),
             symbolic_batch=True, extra_batches=(1, 7))


def test_dropout_training_mode_unsupported():
    with pytest.raises(UnsupportedOpError, match="training_mode"):
        build_op_graph("Dropout", [rand((3, 7)), np.float32(0.5), np.array(True)], {}, const_slots=(1, 2))


# --- Shape / Constant / ConstantOfShape -------------------------------------------------
@pytest.mark.parametrize("attrs", [{}, {"start": 1}, {"start": -2, "end": -1}, {"end": 10}])
def test_shape(attrs):
    check_op("Shape", [rand((3, 1, 7))], attrs)


def test_shape_symbolic_batch_runtime_dims():
    out, _ = check_op("Shape", [rand((5, 3, 4))], {}, symbolic_batch=True, extra_batches=(1, 7))
    assert out[0].dtype == np.int64


@pytest.mark.parametrize("attrs", [
    {"value": onnx.numpy_helper.from_array(rand((3, 7)))},
    {"value": onnx.numpy_helper.from_array(np.arange(13, dtype=I64))},
    {"value": onnx.numpy_helper.from_array(rand((), np.float64))},
    {"value_float": 2.5}, {"value_floats": [1.0, -2.0, 3.5]}, {"value_int": 7}, {"value_ints": [1, 3, 7]}])
def test_constant(attrs):
    check_op("Constant", [], attrs)


def test_constant_array_value_keys_the_cache():
    """An array-valued attribute is held as a TensorProto: two values never share a kernel."""
    outs = []
    for v in (1.0, 2.0):
        b = GraphBuilder()
        b.output(b.op("Constant", [], value=np.full((2, 3), v, np.float32)))
        outs.append(graphc.compile(b.g).run([])[0])
    assert (outs[0] == 1).all() and (outs[1] == 2).all()


@pytest.mark.parametrize("value", [None, np.array([1.5], np.float32), np.array([7], I64)])
def test_constant_of_shape(value):
    attrs = {} if value is None else {"value": onnx.numpy_helper.from_array(value)}
    check_op("ConstantOfShape", [ints(3, 1, 7)], attrs, const_slots=(0,))


# --- Cast -------------------------------------------------------------------------------
@pytest.mark.parametrize("src,to", [
    (np.float32, TensorProto.DOUBLE), (np.float64, TensorProto.FLOAT), (np.float32, TensorProto.INT64),
    (np.float64, TensorProto.INT32), (np.int64, TensorProto.FLOAT), (np.int32, TensorProto.INT64),
    (np.int64, TensorProto.INT32), (np.float32, TensorProto.BOOL), (np.bool_, TensorProto.DOUBLE),
    (np.bool_, TensorProto.INT64), (np.float32, TensorProto.FLOAT)])
def test_cast(src, to):
    x = rand((3, 13), src)
    if src == np.float32 and to == TensorProto.BOOL:
        x[0, :3] = 0
    check_op("Cast", [x], {"to": to})


def test_cast_symbolic_batch():
    check_op("Cast", [rand((4, 7))], {"to": TensorProto.DOUBLE}, symbolic_batch=True, extra_batches=(1, 7))


# --- Gather -----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("idx", [np.array(1), np.array([0, 2, -1, 0]), np.array([[2, 0, -3], [1, 1, 2]])])
def test_gather(axis, idx):
    check_op("Gather", [rand((3, 7, 13)), idx.astype(I64)], {"axis": axis})


def test_gather_dtypes():
    check_op("Gather", [rand((7, 3), I64), np.array([6, -7, 0], np.int32)], {"axis": 0})
    check_op("Gather", [rand((7, 3), np.float64), np.array([[2, 1]], I64)], {"axis": 1})


def test_gather_embedding_symbolic_batch():
    table = rand((31, 7))
    idx = np.random.default_rng(1).integers(-31, 31, (4, 5)).astype(I64)
    # indices are the graph input (symbolic batch), the table a param: Embedding's lowering
    check_op("Gather", [table, idx], {"axis": 0}, param_slots=(0,), symbolic_batch=True, extra_batches=(1, 7))


def test_gather_out_of_range_never_reads_out_of_bounds():
    """Indices must be in range (the runtime checks them); the kernel itself zero-fills, never clamps."""
    g = build_op_graph("Gather", [rand((3, 4)), ints(0, 1)], {"axis": 0})
    exe = graphc.compile(g)
    try:
        out = exe.run([rand((3, 4)), ints(1, 1 << 40)])[0]
    except graphc.GraphcError:
        return  # the runtime rejected the indices before the native call
    np.testing.assert_array_equal(out[0], rand((3, 4))[1])
    assert (out[1] == 0).all()


# --- Expand -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,target", [((3, 1), (2, 1, 7)), ((1,), (7,)), ((3, 7), (3, 7)), ((3, 7), (1,)),
                                          ((1, 3, 1), (13, 1, 1, 5)), ((), (3, 1))])
def test_expand(shape, target):
    check_op("Expand", [rand(shape), np.array(target, I64)], const_slots=(1,))


def test_expand_symbolic_and_ints():
    check_op("Expand", [rand((4, 1, 3)), ints(1, 5, 3)], const_slots=(1,), symbolic_batch=True, extra_batches=(1, 7))
    check_op("Expand", [rand((3, 1), np.int32), ints(3, 7)], const_slots=(1,))
    with pytest.raises(ShapeError, match="Expand"):
        build_op_graph("Expand", [rand((3, 2)), ints(3, 4)], {}, const_slots=(1,))


# --- Slice ------------------------------------------------------------------------------
BIG = np.iinfo(np.int64).max


@pytest.mark.parametrize("starts,ends,axes,steps", [
    ((1,), (3,), None, None), ((0, 1), (3, -1), (0, 2), None), ((-1,), (-BIG,), (1,), (-1,)),
    ((5, 0), (-100, BIG), (1, 0), (-2, 2)), ((2,), (1,), (0,), None), ((0, 0, 3), (BIG, 7, 13), (-3, -2, -1), (1, 3, 4)),
    ((100,), (200,), (2,), None), ((-100,), (BIG,), (-1,), (5,)), ((12,), (-BIG,), (2,), (-3,)),
    ((0, 6, 1), (3, 0, BIG), None, (1, -2, 3))])
def test_slice(starts, ends, axes, steps):
    ins = [rand((3, 7, 13)), np.array(starts, I64), np.array(ends, I64),
           None if axes is None else np.array(axes, I64), None if steps is None else np.array(steps, I64)]
    check_op("Slice", ins, const_slots=(1, 2, 3, 4))


def test_slice_int32_params_and_dtypes():
    i32 = np.int32
    check_op("Slice", [rand((7, 5), I64), np.array([1], i32), np.array([6], i32), np.array([0], i32), np.array([2], i32)],
             const_slots=(1, 2, 3, 4))


def test_slice_symbolic_batch():
    check_op("Slice", [rand((4, 7, 3)), ints(0, 2), ints(BIG, -1), ints(0, 1)], const_slots=(1, 2, 3),
             symbolic_batch=True, extra_batches=(1, 7))
    with pytest.raises(ShapeError, match="symbolic"):
        build_op_graph("Slice", [rand((4, 7)), ints(1), ints(3)], {}, const_slots=(1, 2), symbolic_batch=True)


def test_slice_params_are_not_baked_into_shared_kernels():
    """Two Slices with equal types but different starts in one graph (one kernel) differ."""
    b = GraphBuilder()
    x = b.input("x", "float32", (7,))
    outs = [b.op("Slice", [x, b.const(ints(s)), b.const(ints(s + 3))]) for s in (0, 2)]
    b.output(*outs)
    x0 = rand(7)
    y0, y1 = graphc.compile(b.g).run([x0])
    np.testing.assert_array_equal(y0, x0[0:3])
    np.testing.assert_array_equal(y1, x0[2:5])


# --- Pad --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("pads", [(0, 1, 2, 0, 2, 1), (1, 0, 0, 1, 0, 0), (0, 0, 0, 0, 0, 0), (2, 1, 0, 0, 1, 2)])
def test_pad(mode, pads):
    check_op("Pad", [rand((3, 7, 5)), np.array(pads, I64)], {"mode": mode}, const_slots=(1,))


def test_pad_value_axes_negative_and_dtypes():
    x = rand((3, 7, 5))
    check_op("Pad", [x, ints(1, 2, 0, 0, 3, 1), np.float32(-2.5)], const_slots=(1, 2))
    check_op("Pad", [x, ints(1, 3, 2, 0), np.float32(4), ints(-1, 0)], const_slots=(1, 2, 3))
    g = build_op_graph("Pad", [x, ints(-1, 2, 0, 1, -2, 0)], {}, const_slots=(1,))  # onnx.reference: no negative pads
    want = np.pad(x[1:, :5], [(0, 1), (2, 0), (0, 0)])
    np.testing.assert_array_equal(graphc.compile(g).run([x])[0], want)
    check_op("Pad", [rand((3, 7), np.float64), ints(1, 2, 2, 1)], {"mode": "reflect"}, const_slots=(1,))
    check_op("Pad", [rand((3, 7), I64), ints(1, 2, 3, 1), np.int64(9)], const_slots=(1, 2))


def test_pad_symbolic_and_bad():
    check_op("Pad", [rand((4, 7)), ints(1, 2), None, ints(1)], const_slots=(1, 3), symbolic_batch=True,
             extra_batches=(1, 7))
    with pytest.raises(ShapeError, match="Pad"):
        build_op_graph("Pad", [rand((3, 4)), ints(0, 4, 0, 0)], {"mode": "reflect"}, const_slots=(1,))
    with pytest.raises(ShapeError, match="pads"):
        build_op_graph("Pad", [rand((3, 4)), ints(0, 3)], {}, const_slots=(1,))
