"""LRN against onnxruntime (onnx.reference's LRN sums over the wrong axis range when C > N, so
it is not the oracle here), and its gradient against float64 finite differences."""
import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import dtype_name, onnx_dtype
from graphc.ops import registry
from harness import assert_close, build_op_graph, check_grad


def _onnxruntime_lrn(x, attrs):
    t = onnx_dtype(dtype_name(x.dtype))
    graph = oh.make_graph([oh.make_node("LRN", ["x"], ["y"], **attrs)], "lrn",
                          [oh.make_tensor_value_info("x", t, x.shape)], [oh.make_tensor_value_info("y", t, x.shape)])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13)])
    model.ir_version = 8
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.mark.parametrize("shape,attrs", [
    ((2, 5, 4, 3), {"size": 3}),
    ((1, 7, 5, 2), {"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}),
    ((2, 3, 2, 2), {"size": 1}),
    ((1, 4, 3, 3), {"size": 9, "alpha": 1e-3, "beta": 0.9}),
])
def test_lrn_matches_onnxruntime(shape, attrs):
    x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(np.float32)
    g = build_op_graph("LRN", [x], attrs, symbolic_batch=True)
    exe = graphc.compile(g)
    want = _onnxruntime_lrn(x, attrs)
    assert_close(exe.run([x])[0], want, rtol=1e-5, what="graphc vs onnxruntime")
    assert_close(registry.run_reference(next(iter(g.ops())), [x])[0], want, rtol=1e-5, what="reference")
    assert_close(exe.run([np.concatenate([x, x])])[0], np.concatenate([want, want]), rtol=1e-5)


@pytest.mark.parametrize("shape", [(2, 6, 5), (1, 3, 2, 2, 2)])
def test_lrn_other_ranks_and_float64_match_the_numpy_reference(shape):
    x = np.random.default_rng(2).standard_normal(shape)
    g = build_op_graph("LRN", [x], {"size": 3, "alpha": 0.1})
    want = registry.run_reference(next(iter(g.ops())), [x])[0]
    assert_close(graphc.compile(g).run([x])[0], want, rtol=1e-12)


@pytest.mark.parametrize("attrs", [{"size": 3}, {"size": 2, "alpha": 0.5, "beta": 0.6, "bias": 1.5}])
def test_lrn_gradient(attrs):
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 2))
    check_grad("LRN", [x], attrs)


def test_lrn_rejects_rank_2():
    with pytest.raises(ShapeError, match="rank >= 3"):
        build_op_graph("LRN", [np.zeros((2, 3), np.float32)], {"size": 3})
