"""Shape tensors computed from the dynamic batch (graphc.ops.symbolic), checked against onnxruntime.

Each graph computes a Reshape / Expand / ConstantOfShape target from ``Shape(x)`` with a symbolic
batch, through the arithmetic exporters write (Gather, Slice, Unsqueeze, Squeeze, Concat, Cast,
Mul, Add, Sub, Div, Max, Equal, Where); the imported model must give onnxruntime's outputs for
several batch sizes with one compiled graph, and its output type must name the batch symbol.
"""
import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc.onnx
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder
from graphc.ops.symbolic import shape_value
from harness import assert_close

I64 = onnx.TensorProto.INT64


def _i64(name, vals):
    return onnx.numpy_helper.from_array(np.asarray(vals, dtype=np.int64), name)


def _model(nodes, out_shape, inits=(), opset=13, x_shape=("N", 3, 4)):
    g = oh.make_graph(nodes, "sym", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x_shape))],
                      [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, out_shape)], list(inits))
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def _batch_dim(nodes):
    """s = Shape(x); n = Unsqueeze(Gather(s, 0)): the batch as a 1-element int64 tensor."""
    return [oh.make_node("Shape", ["x"], ["s"]),
            oh.make_node("Gather", ["s", "zero"], ["n0"], axis=0),
            oh.make_node("Unsqueeze", ["n0", "ax0"], ["n"])] + nodes


BASE = [_i64("zero", 0), _i64("ax0", [0])]

CASES = {
    # torch's view(x.size(0), -1)
    "view_flatten": (_batch_dim([oh.make_node("Concat", ["n", "m1"], ["shp"], axis=0),
                                 oh.make_node("Reshape", ["x", "shp"], ["y"])]), ["N", 12], [_i64("m1", [-1])]),
    # the LSTM zero state: ConstantOfShape([1, N, 3]) + a broadcast add
    "zeros_state": (_batch_dim([oh.make_node("Concat", ["one", "n", "three"], ["shp"], axis=0),
                                oh.make_node("ConstantOfShape", ["shp"], ["z"],
                                             value=onnx.numpy_helper.from_array(np.array([0.5], np.float32))),
                                oh.make_node("Slice", ["x", "zero1", "five", "two"], ["xs"]),
                                oh.make_node("ReduceSum", ["xs", "two"], ["r"], keepdims=1),
                                oh.make_node("Transpose", ["r"], ["rt"], perm=[2, 0, 1]),
                                oh.make_node("Add", ["z", "rt"], ["y"])]),
                    [1, "N", 3], [_i64("one", [1]), _i64("three", [3]), _i64("five", [5]), _i64("two", [2]), _i64("zero1", [0])]),
    # tf2onnx: Expand to Concat(Slice(Shape(x), 0, 1), [7]) after a Cast round trip through int32
    "expand_slice_cast": ([oh.make_node("Shape", ["x"], ["s"]),
                           oh.make_node("Slice", ["s", "zero1", "one"], ["b"]),
                           oh.make_node("Cast", ["b"], ["b32"], to=onnx.TensorProto.INT32),
                           oh.make_node("Cast", ["b32"], ["b64"], to=I64),
                           oh.make_node("Concat", ["b64", "seven"], ["shp"], axis=0),
                           oh.make_node("Expand", ["c", "shp"], ["y"])],
                          ["N", 7], [_i64("zero1", [0]), _i64("one", [1]), _i64("seven", [7]),
                                     onnx.numpy_helper.from_array(np.arange(7, dtype=np.float32), "c")]),
    # arithmetic on the dims: [N * 1 + 0, (3 * 4) / 2 - 0, max(2, 1)], and torch's expand idiom
    # Where(Equal(shape, -1), ones, shape) (a dim is never -1)
    "arith_where": ([oh.make_node("Shape", ["x"], ["s"]),
                     oh.make_node("Gather", ["s", "i0"], ["d0"], axis=0),
                     oh.make_node("Gather", ["s", "i1"], ["d1"], axis=0),
                     oh.make_node("Gather", ["s", "i2"], ["d2"], axis=0),
                     oh.make_node("Mul", ["d0", "one"], ["a0"]),
                     oh.make_node("Add", ["a0", "zero"], ["b0"]),
                     oh.make_node("Mul", ["d1", "d2"], ["a1"]),
                     oh.make_node("Div", ["a1", "two"], ["b1"]),
                     oh.make_node("Sub", ["b1", "zero"], ["c1"]),
                     oh.make_node("Max", ["two", "one"], ["c2"]),
                     oh.make_node("Concat", ["b0", "c1", "c2"], ["shp0"], axis=0),
                     oh.make_node("Equal", ["shp0", "m1"], ["isneg"]),
                     oh.make_node("Where", ["isneg", "ones", "shp0"], ["shp"]),
                     oh.make_node("Reshape", ["x", "shp"], ["r"]),
                     oh.make_node("Identity", ["r"], ["y"])],
                    ["N", 6, 2], [_i64("i0", [0]), _i64("i1", [1]), _i64("i2", [2]), _i64("one", [1]),
                                  _i64("zero", [0]), _i64("two", [2]), _i64("m1", [-1]), _i64("ones", [1, 1, 1])]),
    # Squeeze/Unsqueeze of the batch scalar, and an entry no rule can name ((N*12)/N): Reshape infers it
    "unknown_entry": (_batch_dim([oh.make_node("Squeeze", ["n", "ax0"], ["ns"]),
                                  oh.make_node("Mul", ["ns", "twelve"], ["n12"]),
                                  oh.make_node("Div", ["n12", "ns"], ["q"]),
                                  oh.make_node("Unsqueeze", ["q", "ax0"], ["qv"]),
                                  oh.make_node("Concat", ["n", "qv"], ["shp"], axis=0),
                                  oh.make_node("Reshape", ["x", "shp"], ["r"]),
                                  oh.make_node("Reshape", ["r", "back"], ["y"])]),
                      ["N", 3, 4], [_i64("twelve", 12), _i64("back", [-1, 3, 4])]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_shape_computed_from_the_batch_matches_onnxruntime(case):
    nodes, out_shape, inits = CASES[case]
    inits = list(inits) + [t for t in BASE if t.name not in {i.name for i in inits}
                           and any(t.name in n.input for n in nodes)]
    m = _model(nodes, out_shape, inits)
    model = graphc.onnx.load(m)
    y_t = model.graph.value(model.graph.outputs[0]).type
    assert isinstance(y_t.shape[0], str) or isinstance(y_t.shape[1], str), y_t  # the batch stays symbolic
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 4, 9):
        x = np.random.default_rng(n).standard_normal((n, 3, 4)).astype(np.float32)
        got = model.predict(x)
        want = sess.run(None, {"x": x})[0]
        assert got.shape == want.shape
        assert_close(got, want, rtol=1e-6, what=f"{case} batch {n}")


def test_shape_values_name_symbols_and_fold_known_entries():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 6, 4))
    s = b.op("Shape", [x])
    assert list(shape_value(b.g, s)) == ["N", 6, 4]
    tail = b.op("Slice", [s, b.const(np.array([1])), b.const(np.array([3]))])
    prod = b.op("Mul", [b.op("Gather", [s, b.const(np.array(0))], axis=0), b.const(np.array(2))])
    assert list(shape_value(b.g, tail)) == [6, 4]
    assert shape_value(b.g, prod).item() is None  # N*2 is no dim
    from graphc.passes.fold_constants import fold_constants
    fold_constants(b.g)
    assert b.g.value(tail).role == "const" and b.g.value(tail).data.tolist() == [6, 4]
    assert b.g.value(s).role != "const"  # Shape of a symbolic tensor runs at run time


def test_reshape_with_two_unknown_entries_names_the_op():
    nodes = _batch_dim([oh.make_node("Squeeze", ["n", "ax0"], ["ns"]),
                        oh.make_node("Mul", ["ns", "three"], ["n3"]),
                        oh.make_node("Unsqueeze", ["n3", "ax0"], ["n3v"]),
                        oh.make_node("Concat", ["n3v", "n3v"], ["shp"], axis=0),
                        oh.make_node("Reshape", ["x", "shp"], ["y"], name="twice")])
    m = _model(nodes, [None, None], BASE + [_i64("three", 3)])
    with pytest.raises(ShapeError, match=r"twice.*Reshape.*2 entries unknown"):
        graphc.onnx.load(m)


def test_shape_from_a_runtime_tensor_value_is_a_clear_error():
    nodes = [oh.make_node("Cast", ["x"], ["xi"], to=I64),
             oh.make_node("Reshape", ["x", "xi"], ["y"], name="bad")]
    m = _model(nodes, [None], x_shape=[2])
    with pytest.raises(ShapeError, match=r"bad.*Reshape.*constant or computed from tensor shapes"):
        graphc.onnx.load(m)
