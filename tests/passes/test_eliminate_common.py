"""eliminate_common: Before/Expected graphs, random ops and interface values left alone, and the
optimizer's per-parameter scalars computed once."""
import numpy as np

import graphc
from graphc import keras
from graphc.ir import GraphBuilder
from graphc.passes.eliminate_common import eliminate_common
from graphc.passes.infer_shapes import infer_shapes


def _kinds(g):
    return sorted(op.op_type for op in g.ops())


def test_equal_consts_and_equal_ops_merge():
    """Before: y1 = x * c1, y2 = x * c2 (c1, c2 equal arrays), out = y1 + y2.
    Expected: one const, one Mul read twice by the Add; the result is unchanged."""
    b = GraphBuilder(name="cse")
    x = b.input("x", "float32", ("N", 3))
    c1 = b.const(np.array([1.0, 2.0, 3.0], np.float32), name="c1")
    c2 = b.const(np.array([1.0, 2.0, 3.0], np.float32), name="c2")
    c3 = b.const(np.array([1.0, 2.0, 4.0], np.float32), name="c3")
    y = b.op("Add", [b.op("Mul", [x, c1]), b.op("Mul", [x, c2])])
    b.output(b.op("Add", [y, b.op("Mul", [x, c3])]))
    g = eliminate_common(infer_shapes(b.g.copy()))
    g.verify()
    assert _kinds(g) == ["Add", "Add", "Mul", "Mul"]
    assert len(g.values("const")) == 2
    first_add = [op for op in g.ops() if op.op_type == "Add"][0]
    a, bb = g.op_inputs(first_add)
    assert a == bb
    xv = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(graphc.compile(g).run([xv])[0], xv * [1, 2, 3] * 2 + xv * [1, 2, 4])


def test_different_attributes_or_inputs_do_not_merge_and_outputs_stay():
    b = GraphBuilder(name="keep")
    x = b.input("x", "float32", ("N", 4))
    s1 = b.op("Softmax", [x], axis=-1)
    s2 = b.op("Softmax", [x], axis=0)
    r1 = b.op("Relu", [x], name="r1")
    r2 = b.op("Relu", [x], name="r2")
    b.output(s1, s2, r1, r2)
    g = eliminate_common(infer_shapes(b.g.copy()))
    assert _kinds(g) == ["Relu", "Relu", "Softmax", "Softmax"]
    assert g.outputs == [s1, s2, r1, r2]


def test_random_ops_are_never_merged():
    b = GraphBuilder(name="rand")
    x = b.input("x", "float32", ("N", 8))
    counter = b.input("counter", "int64", ())
    d1 = b.op("RandomDropout", [x, counter], domain="graphc", rate=0.5, seed=1)
    d2 = b.op("RandomDropout", [x, counter], domain="graphc", rate=0.5, seed=1)
    b.output(b.op("Add", [d1, d2]))
    g = eliminate_common(infer_shapes(b.g.copy()))
    assert _kinds(g).count("RandomDropout") == 2


def test_adam_bias_corrections_are_computed_once_for_all_parameters():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="relu"), keras.layers.Dense(6),
                          keras.layers.Dense(3)])
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x, y = np.ones((4, 5), np.float32), np.zeros((4, 3), np.float32)
    m.train_on_batch(x, y)
    from graphc.keras.models.training import step_program
    prog, _ = step_program(m, [y], True)
    g = prog.exe.graph
    pows = sum(op.op_type == "Pow" for op in g.ops())
    pows += sum(step[0] == "Pow" for op in g.ops() if op.op_type == "Fused" for step in op.attrs["body"])
    assert 0 < pows <= 2  # beta_1 ** t and beta_2 ** t, not two per parameter (6 parameters here)


def test_attribute_arrays_compare_by_value_not_by_their_elided_repr():
    from graphc.passes.eliminate_common import _attr_key
    a = np.zeros(5000, np.float32)
    b = a.copy()
    b[2500] = 1.0
    assert repr(a) == repr(b)  # numpy elides the middle of long arrays
    assert _attr_key({"value": a}) != _attr_key({"value": b})
    assert _attr_key({"value": a, "axis": [1, 2]}) == _attr_key({"axis": [1, 2], "value": a.copy()})
    assert _attr_key({"axis": [1, 2]}) != _attr_key({"axis": (1, 2)})
