"""Resize (graphc.ops.resize) against onnx.reference, its numpy reference and onnxruntime."""
import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc.onnx

from graphc.errors import ShapeError, UnsupportedOpError
from harness import assert_close, build_op_graph, check_grad, check_op

COORDS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric"]
EMPTY = np.zeros(0, np.float32)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("coord", COORDS)
@pytest.mark.parametrize("mode,nearest", [("linear", "round_prefer_floor"), ("nearest", "round_prefer_floor"),
                                          ("nearest", "round_prefer_ceil"), ("nearest", "floor"), ("nearest", "ceil")])
@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 0.5, 1.5], [1, 1, 3, 0.5]])
def test_resize_scales_matches_onnx_reference(coord, mode, nearest, scales):
    # sizes times scales are integers here: onnx.reference and onnxruntime agree (see below)
    check_op("Resize", [_x((2, 3, 4, 6)), None, np.array(scales, np.float32)],
             {"mode": mode, "nearest_mode": nearest, "coordinate_transformation_mode": coord}, const_slots=(2,),
             symbolic_batch=True, extra_batches=(1, 3))


@pytest.mark.parametrize("coord", COORDS)
@pytest.mark.parametrize("mode", ["linear", "nearest"])
def test_resize_sizes_and_axes_match_onnx_reference(coord, mode):
    check_op("Resize", [_x((2, 3, 7)), None, None, np.array([5, 12], np.int64)],
             {"mode": mode, "coordinate_transformation_mode": coord, "axes": [1, 2]}, const_slots=(3,))
    check_op("Resize", [_x((2, 4, 4), 1).astype(np.float64), None, None, np.array([2, 9, 3], np.int64)],
             {"mode": mode, "coordinate_transformation_mode": coord}, const_slots=(3,))


@pytest.mark.parametrize("coord", COORDS)
@pytest.mark.parametrize("mode", ["linear", "nearest"])
def test_resize_fractional_output_length_matches_onnxruntime(coord, mode):
    """5 * 1.5 = 7.5 and 5 * 0.3 = 1.5: onnxruntime (like PyTorch) maps align_corners and
    pytorch_half_pixel with the integer output length, onnx.reference with the fractional one;
    graphc follows onnxruntime."""
    for sc in ([1, 1, 1.5, 0.3], [1, 1, 0.3, 1.5]):
        node = oh.make_node("Resize", ["x", "", "s"], ["y"], mode=mode, coordinate_transformation_mode=coord)
        g = oh.make_graph([node], "r", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 2, 5, 5])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                          [onnx.numpy_helper.from_array(np.array(sc, np.float32), "s")])
        m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 18)])
        m.ir_version = 8
        x = _x((3, 2, 5, 5), 4)
        want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        assert_close(graphc.onnx.load(m).predict(x, verbose=0), want, rtol=1e-5, what=f"{coord} {mode} {sc}")


def test_resize_scale_that_keeps_the_size_still_moves_coordinates():
    # 5 * 1.1 floors to 5, yet half_pixel coordinates use the scale: not a copy
    check_op("Resize", [_x((1, 1, 5, 5)), None, np.array([1, 1, 1.1, 1.1], np.float32)],
             {"mode": "linear"}, const_slots=(2,))


def test_resize_unsupported_attributes_and_symbolic_axes_are_named():
    x = _x((1, 2, 4, 4))
    for attrs, name in (({"mode": "cubic"}, "mode"), ({"antialias": 1, "mode": "linear"}, "antialias"),
                        ({"coordinate_transformation_mode": "tf_crop_and_resize"}, "coordinate_transformation_mode"),
                        ({"keep_aspect_ratio_policy": "not_larger"}, "keep_aspect_ratio_policy")):
        with pytest.raises(UnsupportedOpError, match=rf"Resize.*attribute '{name}'"):
            build_op_graph("Resize", [x, None, np.array([1, 1, 2, 2], np.float32)], attrs, const_slots=(2,))
    with pytest.raises(ShapeError, match="symbolic"):
        build_op_graph("Resize", [x, None, np.array([2, 1, 2, 2], np.float32)], {}, const_slots=(2,),
                       symbolic_batch=True)
    with pytest.raises(ShapeError, match="exactly one of scales and sizes"):
        build_op_graph("Resize", [x, None, EMPTY], {}, const_slots=(2,))


@pytest.mark.parametrize("coord", ["half_pixel", "align_corners", "asymmetric"])
@pytest.mark.parametrize("mode", ["linear", "nearest"])
def test_resize_gradient_matches_finite_differences(coord, mode):
    x = np.random.default_rng(3).standard_normal((2, 2, 3, 4))
    check_grad("Resize", [x, None, np.array([1, 1, 2, 0.5])], {"mode": mode, "coordinate_transformation_mode": coord},
               const_slots=(2,))
    check_grad("Resize", [x, None, None, np.array([5, 3], np.int64)],
               {"mode": mode, "coordinate_transformation_mode": coord, "axes": [2, 3]}, const_slots=(3,))


def test_resize_grad_kernel_matches_its_numpy_reference():
    import graphc
    from graphc.ir import GraphBuilder
    from graphc.ops import registry
    for attrs, scales, dy_shape in (({"mode": "linear"}, np.array([1, 1, 2, 1.5], np.float32), (2, 3, 8, 6)),
                                    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric"}, None,
                                     (2, 3, 3, 7))):
        b = GraphBuilder()
        dy, like = b.input("dy", "float32", dy_shape), b.input("like", "float32", (2, 3, 4, 4))
        ins = [dy, like] + ([b.const(scales, name="s")] if scales is not None else [])
        b.output(b.op("ResizeGrad", ins, domain="graphc", **attrs))
        op = b.g.ops()[0]
        dyv, likev = _x(dy_shape, 5), _x((2, 3, 4, 4), 6)
        got = graphc.compile(b.g).run([dyv, likev])[0]
        want = registry.run_reference(op, [dyv, likev] + ([scales] if scales is not None else []))[0]
        assert_close(got, want, rtol=1e-5)


def test_imported_model_with_resize_fine_tunes():
    from graphc import keras
    rng = np.random.default_rng(0)
    w = onnx.numpy_helper.from_array((rng.standard_normal((2, 2, 3, 3)) * 0.3).astype(np.float32), "w")
    nodes = [oh.make_node("Resize", ["x", "", "s"], ["u"], mode="linear"),
             oh.make_node("Conv", ["u", "w"], ["y"], pads=[1, 1, 1, 1])]
    g = oh.make_graph(nodes, "up", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 2, 4, 4])],
                      [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 2, 8, 8])],
                      [w, onnx.numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 18)])
    m.ir_version = 8
    model = graphc.onnx.load(m)
    assert model.count_params() == 36  # the scales are a setting, not a weight
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    x = _x((16, 2, 4, 4), 1)
    y = model.predict(x, verbose=0) * 0.5
    hist = model.fit(x, y, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
