"""Model-zoo constructs in the attribute forms of ONNX opsets 9..21 import and match onnxruntime.

Each case builds a one-input model whose nodes use that opset's form: attributes that later became
inputs (Pad's pads and value, Clip's min/max, Squeeze/Unsqueeze/Reduce* axes, Split's split,
Dropout's ratio), BatchNormalization's old spatial attribute, Softmax's pre-13 2-D coercion,
Upsample (opset 9) and Resize's roi/scales/sizes forms, Constant's value_* attributes, and a
Shape/Gather/Unsqueeze/Concat chain. Older opsets reach graphc's opset 18 through onnx's version
converter, newer ones node by node; the imported model must give onnxruntime's outputs. The last
tests check that what graphc cannot run is an error naming node, op type, attribute and opset.
"""
import numpy as np
import onnx
import onnx.helper as oh
import onnx.shape_inference
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc.onnx
from graphc.errors import UnsupportedOpError
from harness import assert_close

F, I64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64


def t(name, arr):
    return onnx.numpy_helper.from_array(np.asarray(arr), name)


def i64(name, vals):
    return t(name, np.asarray(vals, np.int64))


def f32(name, vals):
    return t(name, np.asarray(vals, np.float32))


def _pad(opset):
    if opset < 11:
        return [oh.make_node("Pad", ["x"], ["y"], pads=[0, 0, 1, 2, 0, 0, 2, 1], value=1.5, name="pad")], [], (2, 3, 4, 4)
    ins = ["x", "pads", "v"] + (["axes"] if opset >= 18 else [])
    pads = [1, 2, 2, 1] if opset >= 18 else [0, 0, 1, 2, 0, 0, 2, 1]
    inits = [i64("pads", pads), f32("v", 1.5)] + ([i64("axes", [2, 3])] if opset >= 18 else [])
    return [oh.make_node("Pad", ins, ["y"], mode="constant", name="pad")], inits, (2, 3, 4, 4)


def _pad_reflect(opset):
    if opset < 11:
        return [oh.make_node("Pad", ["x"], ["y"], pads=[0, 0, 1, 1, 0, 0, 2, 1], mode="reflect", name="pad")], [], \
            (2, 3, 4, 4)
    return [oh.make_node("Pad", ["x", "pads"], ["y"], mode="reflect", name="pad")], \
        [i64("pads", [0, 0, 1, 1, 0, 0, 2, 1])], (2, 3, 4, 4)


def _clip(opset):
    if opset < 11:
        return [oh.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.7, name="clip")], [], (3, 5)
    return [oh.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")], [f32("lo", -0.5), f32("hi", 0.7)], (3, 5)


def _clip_min_only(opset):
    if opset < 11:
        return [oh.make_node("Clip", ["x"], ["y"], min=0.0, name="clip")], [], (3, 5)
    return [oh.make_node("Clip", ["x", "lo"], ["y"], name="clip")], [f32("lo", 0.0)], (3, 5)


def _squeeze_unsqueeze(opset):
    if opset < 13:
        return [oh.make_node("Unsqueeze", ["x"], ["u"], axes=[0, 3], name="unsq"),
                oh.make_node("Squeeze", ["u"], ["y"], axes=[0], name="sq")], [], (2, 3)
    return [oh.make_node("Unsqueeze", ["x", "ua"], ["u"], name="unsq"),
            oh.make_node("Squeeze", ["u", "sa"], ["y"], name="sq")], [i64("ua", [0, 3]), i64("sa", [0])], (2, 3)


def _squeeze_all(opset):
    nodes = [oh.make_node("Squeeze", ["x"], ["y"], name="sq")]
    return nodes, [], (1, 3, 1, 2)


def _batchnorm(opset):
    c = 3
    rng = np.random.default_rng(0)
    inits = [f32("s", rng.random(c) + 0.5), f32("b", rng.standard_normal(c)), f32("m", rng.standard_normal(c)),
             f32("v", rng.random(c) + 0.5)]
    kw = {"spatial": 1} if opset < 9 else {}
    return [oh.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3, momentum=0.9,
                         name="bn", **kw)], inits, (2, c, 4, 4)


def _dropout(opset):
    if opset < 12:
        return [oh.make_node("Dropout", ["x"], ["y"], ratio=0.3, name="drop")], [], (2, 5)
    return [oh.make_node("Dropout", ["x", "r"], ["y"], name="drop")], [f32("r", 0.3)], (2, 5)


def _dropout_mask(opset):
    return [oh.make_node("Dropout", ["x"], ["d", "mask"], name="drop"),
            oh.make_node("Cast", ["mask"], ["mf"], to=F),
            oh.make_node("Add", ["d", "mf"], ["y"])], [], (2, 5), (2, 5)


def _split(opset):
    if opset < 13:
        nodes = [oh.make_node("Split", ["x"], ["a", "b"], axis=1, split=[2, 4], name="split")]
        inits = []
    elif opset < 18:
        nodes = [oh.make_node("Split", ["x", "sp"], ["a", "b"], axis=1, name="split")]
        inits = [i64("sp", [2, 4])]
    else:
        nodes = [oh.make_node("Split", ["x"], ["a", "b"], axis=1, num_outputs=2, name="split")]
        inits = []
    return nodes + [oh.make_node("ReduceSum" if opset < 13 else "Identity", ["b"] if opset >= 13 else ["b"], ["bs"],
                                 **({"axes": [1], "keepdims": 1} if opset < 13 else {})),
                    oh.make_node("Concat", ["bs", "a"], ["y"], axis=1)], inits, (3, 6)


def _reduce(opset):
    if opset < 18:
        return [oh.make_node("ReduceMean", ["x"], ["m"], axes=[1, 2], keepdims=0, name="rmean"),
                oh.make_node("ReduceSum", ["m"] + (["ax"] if opset >= 13 else []), ["y"], keepdims=1, name="rsum",
                             **({"axes": [1]} if opset < 13 else {}))], ([i64("ax", [1])] if opset >= 13 else []), \
            (2, 3, 4, 5)
    return [oh.make_node("ReduceMean", ["x", "ax12"], ["m"], keepdims=0, name="rmean"),
            oh.make_node("ReduceSum", ["m", "ax"], ["y"], keepdims=1, name="rsum")], \
        [i64("ax12", [1, 2]), i64("ax", [1])], (2, 3, 4, 5)


def _softmax(opset):  # before 13: coerced to 2-D at axis (here 1 of a 3-D input)
    return [oh.make_node("Softmax", ["x"], ["s"], axis=1, name="softmax"),
            oh.make_node("LogSoftmax", ["x"], ["l"], axis=1, name="logsoftmax"),
            oh.make_node("Add", ["s", "l"], ["y"])], [], (2, 3, 4)


def _cnn_block(opset):
    rng = np.random.default_rng(1)
    inits = [f32("W", rng.standard_normal((4, 3, 3, 3)) * 0.3), f32("B", rng.standard_normal(4)),
             f32("Wd", rng.standard_normal((16, 5)) * 0.3), f32("Bd", rng.standard_normal(5))]
    pool = {"ceil_mode": 1} if opset >= 10 else {}
    return [oh.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv"),
            oh.make_node("Relu", ["c"], ["r"]),
            oh.make_node("LRN", ["r"], ["n"], size=3, alpha=1e-3, beta=0.75, bias=1.0, name="lrn"),
            oh.make_node("MaxPool", ["n"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="maxpool", **pool),
            oh.make_node("AveragePool", ["p"], ["a"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 0, 0],
                         count_include_pad=1, name="avgpool"),
            oh.make_node("Flatten", ["a"], ["f"], axis=1),
            oh.make_node("Gemm", ["f", "Wd", "Bd"], ["g"], alpha=0.5, beta=2.0, name="gemm"),
            oh.make_node("Sum", ["g", "g", "g"], ["y"], name="sum")], inits, (2, 3, 13, 13)


def _shape_chain(opset):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape (a static batch here: folded at import)."""
    unsq = (oh.make_node("Unsqueeze", ["n0"], ["n"], axes=[0]) if opset < 13 else
            oh.make_node("Unsqueeze", ["n0", "ax0"], ["n"]))
    return [oh.make_node("Shape", ["x"], ["s"]), oh.make_node("Gather", ["s", "zero"], ["n0"], axis=0), unsq,
            oh.make_node("Concat", ["n", "m1"], ["shp"], axis=0), oh.make_node("Reshape", ["x", "shp"], ["y"])], \
        [i64("zero", 0), i64("m1", [-1]), i64("ax0", [0])], (2, 3, 4), (2, 12)


def _constant_forms(opset):
    nodes = [oh.make_node("Constant", [], ["c"], value=f32("cv", [[1.0, 2.0, 3.0]]))]
    if opset >= 12:
        nodes.append(oh.make_node("Constant", [], ["d"], value_floats=[0.5, 0.25, 0.125]))
    else:
        nodes.append(oh.make_node("Constant", [], ["d"], value=f32("dv", [0.5, 0.25, 0.125])))
    nodes += [oh.make_node("ConstantOfShape", ["shp"], ["z"], value=f32("zv", [0.75])),
              oh.make_node("Add", ["x", "c"], ["a"]), oh.make_node("Mul", ["a", "d"], ["b"]),
              oh.make_node("Add", ["b", "z"], ["y"])]
    return nodes, [i64("shp", [3])], (2, 3)


def _cast_where(opset):
    return [oh.make_node("Cast", ["x"], ["xi"], to=onnx.TensorProto.INT64),
            oh.make_node("Cast", ["xi"], ["xf"], to=F),
            oh.make_node("Greater", ["x", "xf"], ["g"]),
            oh.make_node("Where", ["g", "x", "xf"], ["y"])], [], (3, 4)


def _upsample_resize(opset):
    if opset < 10:
        return [oh.make_node("Upsample", ["x", "sc"], ["y"], mode="nearest", name="up")], \
            [f32("sc", [1, 1, 2, 2])], (1, 2, 3, 3)
    if opset < 11:
        return [oh.make_node("Resize", ["x", "sc"], ["y"], mode="nearest", name="up")], \
            [f32("sc", [1, 1, 2, 2])], (1, 2, 3, 3)
    return [oh.make_node("Resize", ["x", "roi" if opset < 13 else "", "sc"], ["y"], mode="nearest", name="up")], \
        [f32("sc", [1, 1, 2, 2]), f32("roi", [])], (1, 2, 3, 3)


def _resize_linear_sizes(opset):
    """torch's interpolate(size=..., mode="bilinear", align_corners=True) with the target from Shape."""
    if opset < 11:
        return [oh.make_node("Upsample" if opset < 10 else "Resize", ["x", "sc"], ["y"], mode="linear", name="up")], \
            [f32("sc", [1, 1, 2, 1.5])], (2, 2, 3, 4)
    nodes = [oh.make_node("Shape", ["x"], ["s"]), oh.make_node("Slice", ["s", "zero1", "two1"], ["nc"]),
             oh.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
             oh.make_node("Resize", ["x", "roi", "no_scales" if opset < 13 else "", "sizes"], ["y"], mode="linear",
                          name="up", coordinate_transformation_mode="align_corners")]
    return nodes, [i64("zero1", [0]), i64("two1", [2]), i64("hw", [6, 7]), f32("roi", []), f32("no_scales", [])], \
        (2, 2, 3, 4), (2, 2, 6, 7)


def _keras_upsampling(opset):
    """tf2onnx's UpSampling2D: NHWC Transposes around a nearest/asymmetric/floor Resize."""
    if opset < 11:
        return [oh.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
                oh.make_node("Upsample" if opset < 10 else "Resize", ["t", "sc"], ["u"], mode="nearest"),
                oh.make_node("Transpose", ["u"], ["y"], perm=[0, 2, 3, 1])], [f32("sc", [1, 1, 2, 3])], (2, 3, 4, 2)
    return [oh.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
            oh.make_node("Resize", ["t", "roi", "sc"], ["u"], mode="nearest", nearest_mode="floor",
                         coordinate_transformation_mode="asymmetric"),
            oh.make_node("Transpose", ["u"], ["y"], perm=[0, 2, 3, 1])], [f32("sc", [1, 1, 2, 3]), f32("roi", [])], \
        (2, 3, 4, 2)


ALL = tuple(range(9, 22))
CASES = {
    "pad_constant": (_pad, ALL), "pad_reflect": (_pad_reflect, ALL), "clip": (_clip, ALL),
    "clip_min_only": (_clip_min_only, ALL), "squeeze_unsqueeze": (_squeeze_unsqueeze, ALL),
    "squeeze_all": (_squeeze_all, ALL), "batchnorm": (_batchnorm, ALL), "dropout": (_dropout, ALL),
    "dropout_mask": (_dropout_mask, ALL), "split": (_split, ALL), "reduce": (_reduce, ALL),
    "softmax": (_softmax, ALL), "cnn_block": (_cnn_block, ALL), "shape_chain": (_shape_chain, ALL),
    "constant_forms": (_constant_forms, ALL), "cast_where": (_cast_where, ALL),
    "upsample_resize": (_upsample_resize, ALL), "resize_linear_sizes": (_resize_linear_sizes, ALL),
    "keras_upsampling": (_keras_upsampling, ALL),
}


def build(name, opset):
    """The case's model at ``opset`` (outputs typed by ONNX shape inference unless the case gives them)."""
    nodes, inits, shape, *out = CASES[name][0](opset)
    y = oh.make_tensor_value_info("y", F, list(out[0]) if out else None)  # else typed by shape inference
    g = oh.make_graph(nodes, name, [oh.make_tensor_value_info("x", F, list(shape))], [y], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 7 if opset < 15 else 8
    return onnx.shape_inference.infer_shapes(m), shape  # types the output


# onnxruntime returns an all-False mask from opset-10/11 Dropout in inference; the ONNX spec and
# onnx.reference say all True (as opset 12+ and graphc do): onnx.reference is the oracle there
REFERENCE_ORACLE = {("dropout_mask", 9), ("dropout_mask", 10), ("dropout_mask", 11)}


@pytest.mark.parametrize("name,opset", [(n, o) for n, (_, opsets) in CASES.items() for o in opsets])
def test_opset_form_imports_and_matches_onnxruntime(name, opset):
    m, shape = build(name, opset)
    onnx.checker.check_model(m)
    x = np.random.default_rng(opset).standard_normal(shape).astype(np.float32)
    if (name, opset) in REFERENCE_ORACLE:
        want = ReferenceEvaluator(m).run(None, {"x": x})[0]
    else:
        want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = graphc.onnx.load(m).predict(x, verbose=0)
    assert got.shape == want.shape
    assert_close(got, want, rtol=1e-5, what=f"{name} at opset {opset}")


def _one_node(node, opset, shape=(1, 2, 4, 4), inits=()):
    g = oh.make_graph([node], "m", [oh.make_tensor_value_info("x", F, list(shape))],
                      [oh.make_tensor_value_info("y", F, None)], list(inits))
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("node,opset,inits,pattern", [
    # an attribute newer than graphc's opset 18
    (oh.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2], name="ap"), 19, (),
     r"node 'ap' \(AveragePool\): attribute 'dilations' of AveragePool \(opset 19\)"),
    # an attribute value graphc does not implement
    (oh.make_node("Resize", ["x", "", "sc"], ["y"], mode="cubic", name="up"), 13, [f32("sc", [1, 1, 2, 2])],
     r"node 'up' \(Resize\), model opset 13: .*attribute 'mode' = 'cubic'"),
    (oh.make_node("Resize", ["x", "roi", "sc"], ["y"], coordinate_transformation_mode="tf_crop_and_resize",
                  name="crop"), 11, [f32("sc", [1, 1, 2, 2]), f32("roi", [0, 0, 0, 0, 1, 1, 1, 1])],
     r"node 'crop' \(Resize\), model opset 11: .*attribute 'coordinate_transformation_mode' = 'tf_crop_and_resize'"),
    (oh.make_node("Pad", ["x", "pads"], ["y"], mode="wrap", name="pad"), 19, [i64("pads", [0, 0, 1, 1, 0, 0, 1, 1])],
     r"node 'pad' \(Pad\), model opset 19: .*mode 'wrap' is not supported"),
    # an op graphc lacks, named with its node even when the version converter renames it
    (oh.make_node("NonMaxSuppression", ["x", "x"], ["y"], name="nms"), 11, (),
     r"opset 11.*nms \(NonMaxSuppression\)"),
    (oh.make_node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 2.0, 2.0], mode="bilinear", name="old_up"), 7, (),
     r"node '\d+' \(Resize\) \(node 'old_up' \(Upsample\) in the opset-7 file\), model opset 7: .*attribute 'mode'"),
])
def test_unsupported_forms_name_node_op_attribute_and_opset(node, opset, inits, pattern):
    with pytest.raises(UnsupportedOpError, match=pattern):
        graphc.onnx.load(_one_node(node, opset, inits=inits))
