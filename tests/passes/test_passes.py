"""Passes on small graphs: Before/Expected through the canonical printer."""
import numpy as np
import pytest

from graphc.errors import GraphError, ShapeError
from graphc.ir import GraphBuilder, TensorType
from graphc.passes import cancel_transposes, count_params, eliminate_dead, fold_constants, infer_shapes
from graphc.passes.pipeline import INFERENCE, run


def test_fold_constants_evaluates_const_subgraphs_but_never_params():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3))
    c = b.op("Add", [b.const(np.ones(3, np.float32), "one"), b.const(np.full(3, 2, np.float32), "two")], name="c")
    w = b.param("w", "float32", (3,))
    b.output(b.op("Mul", [b.op("Add", [x, c], name="xc"), b.op("Neg", [w], name="negw")], name="out"))
    g = fold_constants(b.g)
    ops = [op.op_type for op in g.ops()]
    assert ops == ["Neg", "Add", "Mul"] or sorted(ops) == ["Add", "Mul", "Neg"]
    np.testing.assert_array_equal(g.value("c").data, np.full(3, 3, np.float32))
    assert g.value("c").role == "const"


def test_eliminate_dead_keeps_only_what_outputs_need():
    b = GraphBuilder()
    x = b.input("x", "float32", (2,))
    used = b.op("Relu", [x], name="used")
    b.op("Exp", [x], name="unused")
    b.output(used)
    g = eliminate_dead(b.g)
    assert [op.op_type for op in g.ops() if op.op_type == "Transpose"] == []
    assert "unused" not in g.nx
    g.verify()


def test_cancel_transposes_removes_inverse_pairs_and_pushes_through_elementwise():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 4, 5, 3))
    t1 = b.op("Transpose", [x], perm=[0, 3, 1, 2], name="to_nchw")
    r = b.op("Relu", [t1], name="relu")
    t2 = b.op("Transpose", [r], perm=[0, 2, 3, 1], name="to_nhwc")
    s = b.op("Sigmoid", [t2], name="sig")
    t3 = b.op("Transpose", [s], perm=[0, 3, 1, 2], name="again")
    b.output(b.op("Tanh", [t3], name="out"))
    g = cancel_transposes(b.g)
    g.verify()
    assert [op.op_type for op in g.ops()] == ["Relu", "Sigmoid", "Transpose", "Tanh"] or \
        [op.op_type for op in g.ops()].count("Transpose") == 1
    assert g.value(g.outputs[0]).type == TensorType("float32", ("N", 3, 4, 5))


def test_infer_shapes_reports_inconsistent_front_end_types():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3))
    y = b.op("Relu", [x], name="y")
    b.output(y)
    b.g.value(y).type = TensorType("float32", ("N", 4))
    with pytest.raises(ShapeError, match="infers as"):
        infer_shapes(b.g)


def test_count_params_per_layer():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3))
    w = b.param("d.kernel", "float32", (3, 2), layer="d")
    m = b.param("bn.mean", "float32", (2,), trainable=False, layer="bn")
    b.output(b.op("Add", [b.op("MatMul", [x, w]), m]))
    g = count_params(b.g)
    assert g.param_counts == {"trainable": 6, "non_trainable": 2, "per_layer": {"d": (6, 0), "bn": (0, 2)}}


def test_verify_catches_broken_graphs():
    b = GraphBuilder()
    x = b.input("x", "float32", (2,))
    y = b.op("Relu", [x])
    b.output(y)
    b.g.outputs.append("nope")
    with pytest.raises(GraphError, match="nope"):
        b.g.verify()


def test_pipeline_verifies_and_does_not_mutate_its_input():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 2))
    b.output(b.op("Relu", [b.op("Add", [x, b.const(np.zeros(2, np.float32))])]))
    before = str(b.g)
    out = run(b.g, INFERENCE)
    assert str(b.g) == before
    assert "Relu" in str(out)


def test_cancel_transposes_handles_the_default_perm():
    b = GraphBuilder()
    x = b.input("x", "float32", (2, 3))
    t = b.op("Transpose", [x], name="t")  # no perm: reverse the axes
    b.output(b.op("Transpose", [b.op("Relu", [t], name="r")], name="back"))
    g = cancel_transposes(b.g)
    assert [op.op_type for op in g.ops() if op.op_type == "Transpose"] == []
