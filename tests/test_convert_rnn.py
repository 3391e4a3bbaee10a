"""graphc.convert for recurrent models: ONNX LSTM/GRU/RNN nodes <-> Keras LSTM/GRU/SimpleRNN/Bidirectional.

Oracles: the original Keras model's predictions (Keras -> .h5 -> .onnx -> .h5 round trips), onnxruntime
on the original ONNX file (the committed PyTorch and tf2onnx exports, and hand-built ONNX graphs that
exercise the layouts, directions and attributes exporters emit; onnx.reference for layout=1, which
onnxruntime does not run).
"""
import os

import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import keras_models
from graphc import keras
from graphc.errors import UnsupportedOpError
from harness import assert_close
from parity_models import as_list

DATA = os.path.join(os.path.dirname(__file__), "data")
F32 = onnx.TensorProto.FLOAT


def _close(got, want, what):
    for g, w in zip(as_list(got), as_list(want)):
        assert_close(g, w, rtol=1e-5, atol=2e-6 * max(1.0, float(np.abs(w).max())), what=what)


def _recurrent_layers(model):
    names = {"LSTM", "GRU", "SimpleRNN", "Bidirectional"}
    return sorted(type(layer).__name__ for layer in model.layers if type(layer).__name__ in names)


# --- Keras -> .h5 -> ONNX -> .h5: predictions kept -------------------------------------------------------

ROUND_TRIP = {  # model -> the recurrent layers the ONNX -> Keras conversion must produce
    "lstm_stack": ["LSTM", "LSTM"],
    "gru_configs": ["GRU", "GRU", "SimpleRNN"],  # go_backwards + reset_after True, reset_after False + relu
    "lstm_options": ["LSTM", "LSTM", "LSTM"],  # no bias, go_backwards sequences, linear / hard_sigmoid
    "rnn_states": ["GRU", "LSTM", "SimpleRNN"],  # return_state, initial_state from model inputs
    "rnn_cells": ["GRU", "LSTM", "SimpleRNN"],
    "rnn_variable_length": ["Bidirectional", "LSTM", "SimpleRNN"],  # a dynamic number of steps
    # sequences of a forward and a reverse node merged (concat / sum / ave / mul): Bidirectional pairs;
    # final states merged: one layer per direction
    "bidirectional_modes": ["Bidirectional", "Bidirectional", "GRU", "GRU", "GRU", "GRU", "LSTM", "LSTM", "LSTM",
                            "SimpleRNN", "SimpleRNN"],
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_keras_recurrent_model_survives_h5_onnx_h5(name, tmp_path):
    keras.backend.clear_session()
    keras.utils.set_random_seed(5)
    builder, shapes = keras_models.MODELS[name]
    model = builder(keras)
    rng = np.random.default_rng(1)
    for w in model.weights:  # non-trivial biases and larger weights than the initializers give
        w.assign(rng.standard_normal(w.shape).astype(w.dtype) * 0.5)
    shapes = shapes if isinstance(shapes, list) else [shapes]
    xs = [rng.standard_normal((3,) + tuple(s)).astype(np.float32) for s in shapes]
    x = xs if len(xs) > 1 else xs[0]
    want = model.predict(x, verbose=0)
    model.save(str(tmp_path / "m.h5"))
    graphc.convert(str(tmp_path / "m.h5"), str(tmp_path / "m.onnx"))
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    _close(sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), xs)}), want, f"{name}: onnxruntime")
    graphc.convert(str(tmp_path / "m.onnx"), str(tmp_path / "back.h5"))
    back = keras.models.load_model(str(tmp_path / "back.h5"))
    assert _recurrent_layers(back) == ROUND_TRIP[name]
    _close(back.predict(x, verbose=0), want, f"{name}: Keras from ONNX")


# --- exported ONNX files -> Keras, compared with onnxruntime -------------------------------------------

FIXTURES = [f"torch/{m}.{k}" for m in ("lstm_regressor", "gru_regressor", "bilstm_classifier")
            for k in ("legacy", "dynamo")] + [f"tf2onnx/{m}.opset{v}" for m in ("lstm_regressor", "bilstm")
                                               for v in (13, 17)]
FIXTURE_LAYERS = {"lstm_regressor": ["LSTM"], "gru_regressor": ["GRU", "GRU"], "bilstm_classifier": ["Bidirectional"],
                  "bilstm": ["Bidirectional", "Bidirectional"]}


@pytest.mark.parametrize("fixture", FIXTURES)
def test_exported_recurrent_onnx_converts_to_keras_layers(fixture, tmp_path):
    src = os.path.join(DATA, fixture + ".onnx")
    with np.load(os.path.join(DATA, fixture + ".npz")) as data:
        x = data["x"]
    want = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    dst = tmp_path / ("m.keras" if "dynamo" in fixture else "m.h5")
    graphc.convert(src, str(dst))
    model = keras.models.load_model(str(dst))
    assert _recurrent_layers(model) == FIXTURE_LAYERS[os.path.basename(fixture).split(".")[0]]
    _close(model.predict(x, verbose=0), want[0], fixture)


@pytest.mark.parametrize("opset", [13, 17])
def test_tf2onnx_gru_loop_is_named_in_the_error(opset, tmp_path):
    """tf2onnx writes Keras 3's GRU as a Loop of cell ops, which graphc unrolls at import: no Keras layer."""
    with pytest.raises(UnsupportedOpError, match=r"cannot convert ONNX node '.+' \(\w+\) to Keras: .*ONNX Loop "
                                                 r"'[^']*gru[^']*while_loop', which graphc unrolled at import"):
        graphc.convert(os.path.join(DATA, f"tf2onnx/gru_regressor.opset{opset}.onnx"), str(tmp_path / "m.h5"))
    assert not (tmp_path / "m.h5").exists()


# --- hand-built graphs: layouts, directions, states, attributes -----------------------------------------

def _weights(kind, D, H, I, rng, bias=True):
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    inits = [onnx.numpy_helper.from_array((rng.standard_normal((D, G * H, I)) * 0.5).astype(np.float32), "W"),
             onnx.numpy_helper.from_array((rng.standard_normal((D, G * H, H)) * 0.5).astype(np.float32), "R")]
    if bias:
        inits.append(onnx.numpy_helper.from_array((rng.standard_normal((D, 2 * G * H)) * 0.5).astype(np.float32), "B"))
    return inits


def _recurrent_graph(kind, direction="forward", layout=0, H=3, T=5, I=4, outputs=("Y",), attrs=None, extra=None,
                     name="rec"):
    """x (N, T, I) -> an ONNX recurrent node -> batch-major outputs the way exporters arrange them.
    ``extra``: {input slot: (graph input name, shape, nodes producing the slot's value from it)}."""
    rng = np.random.default_rng(3)
    D = 2 if direction == "bidirectional" else 1
    inits = _weights(kind, D, H, I, rng)
    nodes, inputs = [], [oh.make_tensor_value_info("x", F32, ["N", T, I])]
    axes = lambda a, n: onnx.numpy_helper.from_array(np.array(a, np.int64), n)  # noqa: E731
    inits += [axes([0], "ax0"), axes([1], "ax1"), axes([0, 0, -1], "flat"), axes([1], "one"), axes([H], "three")]
    if layout:
        x = "x"
    else:
        nodes.append(oh.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]))
        x = "xt"
    ins = [x, "W", "R", "B"]
    for slot, (inp, shape, made) in sorted((extra or {}).items()):
        ins += [""] * (slot - len(ins)) + [made[-1].output[0] if made else inp]
        inputs.append(oh.make_tensor_value_info(inp, F32 if inp != "lens" else onnx.TensorProto.INT32, shape))
        nodes += made
    outs = ["Y", "Y_h", "Y_c"][:{"LSTM": 3}.get(kind, 2)]
    nodes.append(oh.make_node(kind, ins, outs, name=name, hidden_size=H, direction=direction, layout=layout,
                              **(attrs or {})))
    graph_outs = []
    for o in outputs:
        if layout:
            shape = ["N", T, D, H] if o == "Y" else ["N", D, H]
            graph_outs.append(oh.make_tensor_value_info(o, F32, shape))
            continue
        if o == "Y_step2":  # y[:, 2]: a middle step, not a final state (Cropping1D + Reshape)
            inits.append(onnx.numpy_helper.from_array(np.array(2, np.int64), "two"))
            nodes += [oh.make_node("Squeeze", ["Y", "ax1"], ["Y_s"]),
                      oh.make_node("Transpose", ["Y_s"], ["Y_b"], perm=[1, 0, 2]),
                      oh.make_node("Gather", ["Y_b", "two"], ["y_step2"], axis=1)]
            graph_outs.append(oh.make_tensor_value_info("y_step2", F32, ["N", H]))
            continue
        if o == "Y_h_reshaped":  # Reshape (1, N, H) -> (N, H) instead of a Squeeze
            inits.append(onnx.numpy_helper.from_array(np.array([-1, H], np.int64), "rows"))
            nodes.append(oh.make_node("Reshape", ["Y_h", "rows"], ["y_h_reshaped"]))
            graph_outs.append(oh.make_tensor_value_info("y_h_reshaped", F32, ["N", H]))
            continue
        if o == "Y" and D == 1:
            nodes += [oh.make_node("Squeeze", ["Y", "ax1"], ["Y_s"]), oh.make_node("Transpose", ["Y_s"], ["y"],
                                                                                   perm=[1, 0, 2])]
        elif o == "Y":
            nodes += [oh.make_node("Transpose", ["Y"], ["Y_t"], perm=[0, 2, 1, 3]),
                      oh.make_node("Reshape", ["Y_t", "flat"], ["Y_r"]),
                      oh.make_node("Transpose", ["Y_r"], ["y"], perm=[1, 0, 2])]
        elif D == 1:
            nodes.append(oh.make_node("Squeeze", [o, "ax0"], [o.lower()]))
        else:
            idx = [onnx.numpy_helper.from_array(np.array(d, np.int64), f"{o}_i{d}") for d in range(D)]
            inits += idx
            nodes += [oh.make_node("Gather", [o, f"{o}_i{d}"], [f"{o}_{d}"], axis=0) for d in range(D)]
            nodes.append(oh.make_node("Concat", [f"{o}_{d}" for d in range(D)], [o.lower()], axis=1))
        graph_outs.append(oh.make_tensor_value_info("y" if o == "Y" else o.lower(), F32,
                                                    ["N", T, D * H] if o == "Y" else ["N", D * H]))
    graph = oh.make_graph(nodes, "g", inputs, graph_outs, inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def _zero_state(slot_name):
    """Zeros of shape (1, N, 3) computed from x's batch size, as PyTorch exports them."""
    return [oh.make_node("Shape", ["x"], [f"{slot_name}_shape"], start=0, end=1),
            oh.make_node("Concat", ["one", f"{slot_name}_shape", "three"], [f"{slot_name}_dims"], axis=0),
            oh.make_node("ConstantOfShape", [f"{slot_name}_dims"], [f"{slot_name}_zeros"])]


CASES = {
    "lstm_forward_all_outputs": dict(kind="LSTM", outputs=("Y", "Y_h", "Y_c")),
    "lstm_bidirectional_layout1": dict(kind="LSTM", direction="bidirectional", layout=1, outputs=("Y", "Y_h", "Y_c")),
    "lstm_reverse_final_state": dict(kind="LSTM", direction="reverse", outputs=("Y_c",)),
    "gru_reverse_no_reset_after": dict(kind="GRU", direction="reverse", outputs=("Y_h",),
                                       attrs=dict(linear_before_reset=0)),
    "gru_bidirectional_reset_after": dict(kind="GRU", direction="bidirectional", outputs=("Y", "Y_h"),
                                          attrs=dict(linear_before_reset=1)),
    "rnn_relu_initial_state": dict(kind="RNN", outputs=("Y", "Y_h"), attrs=dict(activations=["Relu"]),
                                   extra={5: ("h0", ["N", 3], [oh.make_node("Unsqueeze", ["h0", "ax0"], ["h0_u"])])}),
    "rnn_layout1_initial_state": dict(
        kind="RNN", layout=1, outputs=("Y_h",), attrs=dict(activations=["Tanh"]),
        extra={5: ("h0", ["N", 3], [oh.make_node("Unsqueeze", ["h0", "ax1"], ["h0_u"])])}),
    "gru_bidirectional_initial_state": dict(kind="GRU", direction="bidirectional", outputs=("Y_h",), extra={
        5: ("h0", ["N", 3], [oh.make_node("Relu", ["h0"], ["h0_r"]),
                             oh.make_node("Unsqueeze", ["h0", "ax0"], ["h0_u"]),
                             oh.make_node("Unsqueeze", ["h0_r", "ax0"], ["h0_ru"]),
                             oh.make_node("Concat", ["h0_u", "h0_ru"], ["h0_c"], axis=0)])}),
    "lstm_middle_step_and_reshaped_state": dict(kind="LSTM", outputs=("Y_step2", "Y_h_reshaped")),
    "lstm_zero_peepholes": dict(kind="LSTM", outputs=("Y",), extra={  # zero P is no peephole
        7: ("p_in", [1], [oh.make_node("Constant", [], ["P"], value=onnx.numpy_helper.from_array(
            np.zeros((1, 9), np.float32)))])}),
    "gru_hard_sigmoid_softsign": dict(kind="GRU", outputs=("Y",), attrs=dict(
        activations=["HardSigmoid", "Softsign"], activation_alpha=[1 / 6], activation_beta=[0.5])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnx_recurrent_node_forms_convert_like_onnxruntime(case, tmp_path):
    model = _recurrent_graph(**CASES[case])
    src = tmp_path / "m.onnx"
    onnx.save(model, str(src))
    rng = np.random.default_rng(0)
    feeds = {"x": rng.standard_normal((3, 5, 4)).astype(np.float32)}
    for unused in ("p_in",):  # the placeholder input of a constant
        for i, vi in enumerate(model.graph.input):
            if vi.name == unused:
                del model.graph.input[i]
                onnx.save(model, str(src))
    if "h0" in {i.name for i in model.graph.input}:
        feeds["h0"] = rng.standard_normal((3, 3)).astype(np.float32)
    if CASES[case].get("layout"):  # onnxruntime has no batch-major (layout=1) recurrent kernels
        want = ReferenceEvaluator(model).run(None, feeds)
    else:
        want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)
    graphc.convert(str(src), str(tmp_path / "m.h5"))
    back = keras.models.load_model(str(tmp_path / "m.h5"))
    kind = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}[CASES[case]["kind"]]
    assert _recurrent_layers(back) == (["Bidirectional"] if "bidirectional" in case else [kind])
    if "middle_step" in case:
        assert "Cropping1D" in [type(layer).__name__ for layer in back.layers]
    got = back.predict(list(feeds.values()) if len(feeds) > 1 else feeds["x"], verbose=0)
    _close(got, want, case)


def test_zero_initial_states_computed_from_the_batch_size_are_dropped(tmp_path):
    extra = {5: ("unused_h", [1], _zero_state("h")), 6: ("unused_c", [1], _zero_state("c"))}
    model = _recurrent_graph("LSTM", outputs=("Y",), extra=extra)
    model.graph.input.pop()  # the placeholder inputs: the zeros come from x's shape
    model.graph.input.pop()
    src = tmp_path / "m.onnx"
    onnx.save(model, str(src))
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    graphc.convert(str(src), str(tmp_path / "m.h5"))
    _close(keras.models.load_model(str(tmp_path / "m.h5")).predict(x, verbose=0), want, "zero states")


# --- forms Keras cannot express: the error names the node, the op and the attribute ---------------------

ERRORS = {
    "peepholes": (dict(kind="LSTM", extra={7: ("P", [1, 9], [])}), "'P'"),
    "clip": (dict(kind="LSTM", attrs=dict(clip=1.0)), "'clip'"),
    "input_forget": (dict(kind="LSTM", attrs=dict(input_forget=1)), "'input_forget'"),
    "lstm_g_differs_from_h": (dict(kind="LSTM", attrs=dict(activations=["Sigmoid", "Tanh", "Relu"])),
                              "'activations'"),
    "scaled_tanh": (dict(kind="RNN", attrs=dict(activations=["ScaledTanh"], activation_alpha=[2.0],
                                                activation_beta=[0.5])), "'activations'"),
    "keras2_hard_sigmoid": (dict(kind="GRU", attrs=dict(activations=["HardSigmoid", "Tanh"])), "'activations'"),
    "sequence_lens": (dict(kind="GRU", extra={4: ("lens", ["N"], [])}), "'sequence_lens'"),
    "reverse_sequence_in_input_order": (dict(kind="GRU", direction="reverse"), "input time order"),
    "one_state_given_one_zero": (dict(kind="LSTM", extra={5: ("h0", ["N", 3], [
        oh.make_node("Unsqueeze", ["h0", "ax0"], ["h0_u"])])}, outputs=("Y", "Y_c")), "initial_state"),
    "layout1_reverse_sequence": (dict(kind="RNN", direction="reverse", layout=1), "input time order"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_forms_without_a_keras_layer_name_node_op_and_attribute(case, tmp_path):
    kwargs, what = ERRORS[case]
    model = _recurrent_graph(name=f"the_{case}", **kwargs)
    src = tmp_path / "m.onnx"
    onnx.save(model, str(src))
    with pytest.raises(UnsupportedOpError, match=r"cannot convert ONNX node '[^']*' \(\w+\) to Keras: ") as e:
        graphc.convert(str(src), str(tmp_path / "m.h5"))
    msg = str(e.value)
    if "input time order" in what:  # the op reading the sequence fails, naming the recurrent node
        assert f"node 'the_{case}'" in msg, msg
    else:
        assert msg.startswith(f"cannot convert ONNX node 'the_{case}' ({kwargs['kind']}) to Keras: "), msg
    assert what in msg, msg
    assert not (tmp_path / "m.h5").exists()


def test_scaling_by_a_constant_is_rescaling_and_other_quotients_are_named(tmp_path):
    """x * c and x / 2**k become Rescaling (Bidirectional's merge_mode="ave" divides by 2); x / 3 has no
    exact Keras layer."""
    x = oh.make_tensor_value_info("x", F32, ["N", 4])
    rng = np.random.default_rng(0)
    feeds = {"x": rng.standard_normal((3, 4)).astype(np.float32)}
    for divisor, ok in ((4.0, True), (3.0, False)):
        c = [onnx.numpy_helper.from_array(np.array(divisor, np.float32), "c"),
             onnx.numpy_helper.from_array(np.array(-1.5, np.float32), "k")]
        nodes = [oh.make_node("Mul", ["k", "x"], ["m"], name="scale"),
                 oh.make_node("Div", ["m", "c"], ["y"], name="quot")]
        graph = oh.make_graph(nodes, "g", [x], [oh.make_tensor_value_info("y", F32, ["N", 4])], c)
        src = tmp_path / f"d{int(divisor)}.onnx"
        onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)]), str(src))
        if not ok:
            with pytest.raises(UnsupportedOpError, match=r"'quot' \(Div\).*power of two"):
                graphc.convert(str(src), str(tmp_path / "d.h5"))
            continue
        graphc.convert(str(src), str(tmp_path / "d.h5"))
        model = keras.models.load_model(str(tmp_path / "d.h5"))
        assert [type(layer).__name__ for layer in model.layers[1:]] == ["Rescaling", "Rescaling"]
        want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        _close(model.predict(feeds["x"], verbose=0), want, "x * -1.5 / 4")
