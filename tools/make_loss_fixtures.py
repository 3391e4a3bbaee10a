"""Write real-Keras reference values for graphc's losses and metrics.

Keras is never a test dependency: this script runs in a developer venv with Keras 3 (JAX) and
the tests read only the files it writes:

    KERAS_BACKEND=jax /work/kerasvenv/bin/python tools/make_loss_fixtures.py

It writes tests/data/keras/losses.npz and tests/data/keras/metrics.npz. Each holds the random
inputs (float32, fixed seed), the values Keras computed, and a "__meta__" entry: JSON text that
lists the cases (which loss/metric, its keyword arguments, which input arrays, sample weights,
reduction), the Keras version, default configs and names, and what model.fit() logs for
metric identifiers. (The metadata sits inside the .npz, not in a .json next to it, because the
model-parity tests treat every tests/data/keras/*.json as a model fixture.) Running the script
twice produces byte-identical files.
"""
import io
import json
import os
import warnings
import zipfile

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "keras")


def save_npz(path, arrays):
    """np.savez_compressed with fixed zip timestamps, so identical arrays give identical bytes."""
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            arr = np.asarray(arrays[key])  # (np.ascontiguousarray would turn scalars into shape (1,))
            np.lib.format.write_array(buf, arr if arr.flags.c_contiguous else arr.copy(), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --- inputs ---------------------------------------------------------------------------------
def loss_inputs():
    rng = np.random.default_rng(20240601)
    n, c = 8, 5
    a = {}
    a["reg_true"] = f32(rng.normal(size=(n, c)))
    a["reg_pred"] = f32(rng.normal(size=(n, c)))
    a["reg_pred"][0, :2] = a["reg_true"][0, :2] + f32([0.5, -3.0])  # both Huber branches, exactly
    a["pos_true"] = f32(rng.random((n, c)) * 3)
    a["pos_pred"] = f32(rng.random((n, c)) * 3 + 0.01)
    a["pos_true"][1, 0] = 0.0  # clipped by epsilon in msle/kld
    a["logits"] = f32(rng.normal(size=(n, c)) * 3)
    a["logits"][2] = [40.0, -40.0, 0.0, 80.0, -80.0]  # saturating rows
    a["probs"] = f32(softmax(a["logits"]))
    a["onehot"] = f32(np.eye(c)[rng.integers(0, c, n)])
    a["soft_true"] = f32(softmax(rng.normal(size=(n, c))))
    a["soft_true"][3] = [0, 0, 1, 0, 0]
    a["bin_true"] = f32(rng.integers(0, 2, (n, c)))
    a["bin_logits"] = f32(rng.normal(size=(n, c)) * 4)
    a["bin_logits"][0, :2] = [30.0, -30.0]
    a["bin_probs"] = f32(1 / (1 + np.exp(-a["bin_logits"].astype(np.float64))))
    a["bin_probs"][1, :2] = [0.0, 1.0]  # clipped to [eps, 1 - eps]
    a["pm_true"] = f32(rng.integers(0, 2, (n, c)) * 2 - 1)
    a["mixed_true"] = f32(rng.integers(-1, 2, (n, c)))  # -1/0/1: hinge does not convert
    a["labels"] = rng.integers(0, c, (n,)).astype(np.int64)
    a["labels"][:2] = [2, 2]
    a["labels_col"] = a["labels"].reshape(n, 1)
    a["sw"] = f32(rng.random(n) * 2)
    a["sw"][3] = 0.0
    a["sw_col"] = a["sw"].reshape(n, 1)
    a["sw_scalar"] = f32(2.5)
    a["zero_sw"] = np.zeros(n, np.float32)
    # rank 3: (batch, time, classes) and per-step labels / weights
    a["seq_logits"] = f32(rng.normal(size=(4, 3, c)) * 2)
    a["seq_probs"] = f32(softmax(a["seq_logits"]))
    a["seq_onehot"] = f32(np.eye(c)[rng.integers(0, c, (4, 3))])
    a["seq_labels"] = rng.integers(0, c, (4, 3)).astype(np.int64)
    a["seq_sw"] = f32(rng.random((4, 3)))
    # class axis 1: (batch, classes, time)
    a["cf_logits"] = f32(np.transpose(a["seq_logits"], (0, 2, 1)))
    a["cf_probs"] = f32(np.transpose(a["seq_probs"], (0, 2, 1)))
    a["cf_onehot"] = f32(np.transpose(a["seq_onehot"], (0, 2, 1)))
    # one output unit (binary problems)
    a["col_true"] = f32(rng.integers(0, 2, (n, 1)))
    a["col_probs"] = f32(rng.random((n, 1)))
    a["flat_true"] = a["col_true"][:, 0].copy()
    return a


def loss_cases():
    """(id, kind, name, kwargs, inputs, extra): kind "fn" calls keras.losses.<name>(y_true, y_pred, **kwargs);
    kind "cls" calls keras.losses.<name>(**kwargs)(y_true, y_pred, sample_weight=extra.get('sw'))."""
    cases = []

    def fn(name, yt, yp, **kw):
        cases.append({"id": f"fn:{name}:{yt}:{yp}:{json.dumps(kw, sort_keys=True)}", "kind": "fn", "name": name,
                      "kwargs": kw, "inputs": [yt, yp]})

    def cls(name, yt, yp, sw=None, **kw):
        cases.append({"id": f"cls:{name}:{yt}:{yp}:{sw}:{json.dumps(kw, sort_keys=True)}", "kind": "cls",
                      "name": name, "kwargs": kw, "inputs": [yt, yp], "sw": sw})

    for name in ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                 "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh"):
        fn(name, "reg_true", "reg_pred")
    fn("mean_squared_logarithmic_error", "pos_true", "pos_pred")
    fn("huber", "reg_true", "reg_pred", delta=0.4)
    fn("huber", "reg_true", "reg_pred", delta=2.5)
    fn("cosine_similarity", "seq_probs", "seq_logits", axis=1)
    fn("kl_divergence", "soft_true", "probs")
    fn("kl_divergence", "pos_true", "pos_pred")
    fn("poisson", "pos_true", "pos_pred")
    for yt in ("pm_true", "bin_true", "mixed_true"):
        fn("hinge", yt, "reg_pred")
        fn("squared_hinge", yt, "reg_pred")
    fn("categorical_hinge", "onehot", "reg_pred")
    fn("binary_crossentropy", "bin_true", "bin_probs")
    fn("binary_crossentropy", "bin_true", "bin_logits", from_logits=True)
    fn("binary_crossentropy", "bin_true", "bin_probs", label_smoothing=0.2)
    fn("binary_crossentropy", "bin_true", "bin_logits", from_logits=True, label_smoothing=0.1)
    fn("binary_crossentropy", "seq_onehot", "seq_probs", axis=1)
    fn("binary_crossentropy", "col_true", "col_probs")
    fn("categorical_crossentropy", "onehot", "probs")
    fn("categorical_crossentropy", "soft_true", "pos_pred")  # unnormalized: Keras divides by the sum
    fn("categorical_crossentropy", "onehot", "logits", from_logits=True)
    fn("categorical_crossentropy", "soft_true", "logits", from_logits=True)
    fn("categorical_crossentropy", "onehot", "probs", label_smoothing=0.1)
    fn("categorical_crossentropy", "onehot", "logits", from_logits=True, label_smoothing=0.2)
    fn("categorical_crossentropy", "seq_onehot", "seq_probs")
    fn("categorical_crossentropy", "cf_onehot", "cf_probs", axis=1)
    fn("categorical_crossentropy", "cf_onehot", "cf_logits", axis=1, from_logits=True)
    fn("sparse_categorical_crossentropy", "labels", "probs")
    fn("sparse_categorical_crossentropy", "labels_col", "probs")
    fn("sparse_categorical_crossentropy", "labels", "logits", from_logits=True)
    fn("sparse_categorical_crossentropy", "labels_col", "logits", from_logits=True)
    fn("sparse_categorical_crossentropy", "seq_labels", "seq_logits", from_logits=True)
    fn("sparse_categorical_crossentropy", "seq_labels", "seq_probs")
    fn("sparse_categorical_crossentropy", "labels", "logits", from_logits=True, ignore_class=2)
    fn("sparse_categorical_crossentropy", "labels", "probs", ignore_class=2)

    # classes: reductions, sample weights, masks
    for red in ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"):
        cls("MeanSquaredError", "reg_true", "reg_pred", reduction=red)
        cls("MeanSquaredError", "reg_true", "reg_pred", sw="sw", reduction=red)
        cls("SparseCategoricalCrossentropy", "labels", "logits", sw="sw", from_logits=True, ignore_class=2,
            reduction=red)
    cls("MeanSquaredError", "reg_true", "reg_pred", sw="sw_col")
    cls("MeanSquaredError", "reg_true", "reg_pred", sw="sw_scalar")
    cls("MeanSquaredError", "reg_true", "reg_pred", sw="zero_sw", reduction="mean_with_sample_weight")
    cls("MeanAbsoluteError", "reg_true", "reg_pred", sw="sw")
    cls("MeanAbsolutePercentageError", "reg_true", "reg_pred")
    cls("MeanSquaredLogarithmicError", "pos_true", "pos_pred", sw="sw")
    cls("CosineSimilarity", "reg_true", "reg_pred")
    cls("Huber", "reg_true", "reg_pred", sw="sw", delta=0.5)
    cls("LogCosh", "reg_true", "reg_pred")
    cls("Hinge", "bin_true", "reg_pred")
    cls("SquaredHinge", "pm_true", "reg_pred", sw="sw")
    cls("CategoricalHinge", "onehot", "reg_pred")
    cls("KLDivergence", "soft_true", "probs", sw="sw")
    cls("Poisson", "pos_true", "pos_pred")
    cls("BinaryCrossentropy", "bin_true", "bin_probs")
    cls("BinaryCrossentropy", "bin_true", "bin_logits", sw="sw", from_logits=True, label_smoothing=0.1)
    cls("BinaryCrossentropy", "flat_true", "col_probs")  # y_true (N,) vs y_pred (N, 1): expanded
    cls("BinaryCrossentropy", "col_true", "col_probs", sw="sw", reduction="sum")
    cls("CategoricalCrossentropy", "onehot", "probs", sw="sw")
    cls("CategoricalCrossentropy", "onehot", "logits", from_logits=True, label_smoothing=0.1)
    cls("CategoricalCrossentropy", "seq_onehot", "seq_logits", sw="seq_sw", from_logits=True)
    cls("SparseCategoricalCrossentropy", "labels", "probs")
    cls("SparseCategoricalCrossentropy", "labels_col", "logits", sw="sw", from_logits=True)
    cls("SparseCategoricalCrossentropy", "seq_labels", "seq_logits", sw="seq_sw", from_logits=True)
    cls("SparseCategoricalCrossentropy", "seq_labels", "seq_probs", ignore_class=2)
    return cases


def run_losses():
    a = loss_inputs()
    cases = loss_cases()
    out = dict(a)
    for i, case in enumerate(cases):
        yt, yp = (a[k] for k in case["inputs"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case["kind"] == "fn":
                v = getattr(keras.losses, case["name"])(yt, yp, **case["kwargs"])
            else:
                obj = getattr(keras.losses, case["name"])(**case["kwargs"])
                sw = a[case["sw"]] if case.get("sw") else None
                v = obj(yt, yp, sample_weight=sw)
        out[f"case{i}"] = f32(keras.ops.convert_to_numpy(v))
        case["key"] = f"case{i}"

    configs = {}
    for name in ("MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
                 "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence",
                 "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
        obj = getattr(keras.losses, name)()
        configs[name] = {"config": obj.get_config(), "serialized": keras.losses.serialize(obj)}
    get_kinds = {}
    for ident in ("mse", "MSE", "mae", "mape", "msle", "bce", "kld", "mean_squared_error", "MeanSquaredError",
                  "categorical_crossentropy", "CategoricalCrossentropy", "huber", "Huber", "log_cosh",
                  "sparse_categorical_crossentropy"):
        obj = keras.losses.get(ident)
        get_kinds[ident] = {"type": "function" if callable(obj) and not isinstance(obj, keras.losses.Loss)
                            else "instance", "name": getattr(obj, "__name__", None) or obj.name,
                            "class": type(obj).__name__}
    meta = {"keras_version": keras.__version__, "epsilon": keras.config.epsilon(), "cases": cases,
            "configs": configs, "get": get_kinds,
            "function_serialized": keras.losses.serialize(keras.losses.mean_squared_error)}
    out["__meta__"] = np.array(json.dumps(jsonable(meta), sort_keys=True, indent=1))
    save_npz(os.path.join(OUT, "losses.npz"), out)
    return len(cases)


# --- metrics ----------------------------------------------------------------------------------
def metric_inputs():
    rng = np.random.default_rng(20240602)
    a = {}
    for b, n in (("b0", 8), ("b1", 5)):
        c = 5
        logits = rng.normal(size=(n, c)) * 2
        a[f"{b}_probs"] = f32(softmax(logits))
        a[f"{b}_logits"] = f32(logits)
        a[f"{b}_onehot"] = f32(np.eye(c)[rng.integers(0, c, n)])
        a[f"{b}_labels"] = rng.integers(0, c, n).astype(np.int64)
        a[f"{b}_labels_col"] = a[f"{b}_labels"].reshape(n, 1)
        a[f"{b}_bin_true"] = f32(rng.integers(0, 2, (n, c)))
        a[f"{b}_bin_probs"] = f32(rng.random((n, c)))
        a[f"{b}_bin_probs"][0, :3] = [0.5, 0.0, 1.0]  # threshold edge and the clip ends
        a[f"{b}_col_true"] = f32(rng.integers(0, 2, (n, 1)))
        a[f"{b}_col_probs"] = f32(rng.random((n, 1)))
        a[f"{b}_flat_true"] = a[f"{b}_col_true"][:, 0].copy()
        a[f"{b}_reg_true"] = f32(rng.normal(size=(n, 3)))
        a[f"{b}_reg_pred"] = f32(rng.normal(size=(n, 3)))
        a[f"{b}_int_true"] = f32(rng.integers(0, 3, (n, 2)))
        a[f"{b}_int_pred"] = f32(rng.integers(0, 3, (n, 2)))
        a[f"{b}_sw"] = f32(rng.random(n))
        a[f"{b}_values"] = f32(rng.normal(size=(n, 2)))
        a[f"{b}_ties"] = f32(np.round(rng.random((n, c)) * 2) / 2)  # many ties for argmax/top-k
    return a


def metric_cases():
    cases = []

    def m(cls, yt, yp, sw=False, **kw):
        cases.append({"id": f"{cls}:{yt}:{yp}:{sw}:{json.dumps(kw, sort_keys=True)}", "class": cls, "kwargs": kw,
                      "inputs": [yt, yp], "sw": sw})

    m("BinaryAccuracy", "bin_true", "bin_probs")
    m("BinaryAccuracy", "bin_true", "bin_probs", sw=True, threshold=0.7)
    m("BinaryAccuracy", "flat_true", "col_probs")
    m("CategoricalAccuracy", "onehot", "probs")
    m("CategoricalAccuracy", "onehot", "ties", sw=True)
    m("SparseCategoricalAccuracy", "labels", "probs")
    m("SparseCategoricalAccuracy", "labels_col", "ties", sw=True)
    m("TopKCategoricalAccuracy", "onehot", "probs", k=2)
    m("TopKCategoricalAccuracy", "onehot", "ties", k=2)
    m("TopKCategoricalAccuracy", "onehot", "probs")
    m("SparseTopKCategoricalAccuracy", "labels", "probs", k=3)
    m("SparseTopKCategoricalAccuracy", "labels_col", "ties", sw=True, k=2)
    m("Accuracy", "int_true", "int_pred")
    m("Accuracy", "int_true", "int_pred", sw=True)
    m("MeanSquaredError", "reg_true", "reg_pred")
    m("MeanSquaredError", "reg_true", "reg_pred", sw=True)
    m("MeanAbsoluteError", "reg_true", "reg_pred", sw=True)
    m("MeanAbsolutePercentageError", "reg_true", "reg_pred")
    m("MeanSquaredLogarithmicError", "reg_true", "reg_pred")
    m("RootMeanSquaredError", "reg_true", "reg_pred", sw=True)
    m("CosineSimilarity", "reg_true", "reg_pred")
    m("LogCoshError", "reg_true", "reg_pred")
    m("Hinge", "bin_true", "logits")
    m("SquaredHinge", "bin_true", "logits")
    m("CategoricalHinge", "onehot", "logits")
    m("KLDivergence", "onehot", "probs")
    m("Poisson", "bin_probs", "probs")
    m("BinaryCrossentropy", "bin_true", "bin_probs", sw=True)
    m("BinaryCrossentropy", "bin_true", "logits", from_logits=True, label_smoothing=0.1)
    m("CategoricalCrossentropy", "onehot", "probs")
    m("CategoricalCrossentropy", "onehot", "logits", from_logits=True)
    m("SparseCategoricalCrossentropy", "labels", "probs", sw=True)
    m("SparseCategoricalCrossentropy", "labels", "logits", from_logits=True)
    m("Precision", "bin_true", "bin_probs")
    m("Precision", "bin_true", "bin_probs", sw=True, thresholds=[0.3, 0.5, 0.7])
    m("Precision", "bin_true", "bin_probs", top_k=2)
    m("Precision", "bin_true", "bin_probs", class_id=1)
    m("Precision", "bin_true", "bin_probs", top_k=3, class_id=2, sw=True)
    m("Recall", "bin_true", "bin_probs")
    m("Recall", "bin_true", "bin_probs", sw=True, thresholds=[0.0, 0.25, 0.5, 0.75, 1.0])
    m("Recall", "bin_true", "bin_probs", top_k=2)
    m("Recall", "col_true", "col_probs", class_id=0)
    m("TruePositives", "bin_true", "bin_probs")
    m("FalsePositives", "bin_true", "bin_probs", sw=True, thresholds=[0.2, 0.6])
    m("TrueNegatives", "bin_true", "bin_probs")
    m("FalseNegatives", "bin_true", "bin_probs")
    m("AUC", "bin_true", "bin_probs")
    m("AUC", "bin_true", "bin_probs", sw=True)
    m("AUC", "bin_true", "bin_probs", curve="PR")
    m("AUC", "bin_true", "bin_probs", curve="PR", sw=True, num_thresholds=50)
    m("AUC", "bin_true", "bin_probs", summation_method="majoring")
    m("AUC", "bin_true", "bin_probs", summation_method="minoring", curve="PR")
    m("AUC", "bin_true", "bin_probs", num_thresholds=3)
    m("AUC", "bin_true", "logits", from_logits=True)
    m("AUC", "bin_true", "bin_probs", thresholds=[0.1, 0.45, 0.5, 0.9])
    m("AUC", "bin_true", "bin_probs", multi_label=True)
    m("AUC", "bin_true", "bin_probs", multi_label=True, curve="PR")
    m("AUC", "col_true", "col_probs", curve="PRGAIN")
    m("Mean", "values", None)
    m("Mean", "values", None, sw=True)
    m("Sum", "values", None, sw=True)
    return cases


FUNCTIONS = [("binary_accuracy", "bin_true", "bin_probs", {}), ("binary_accuracy", "bin_true", "bin_probs",
                                                                  {"threshold": 0.3}),
             ("categorical_accuracy", "onehot", "ties", {}), ("sparse_categorical_accuracy", "labels", "probs", {}),
             ("sparse_categorical_accuracy", "labels_col", "probs", {}),
             ("top_k_categorical_accuracy", "onehot", "ties", {"k": 2}),
             ("sparse_top_k_categorical_accuracy", "labels", "probs", {"k": 2}),
             ("mean_squared_error", "reg_true", "reg_pred", {}), ("binary_crossentropy", "bin_true", "bin_probs", {})]


def fit_names():
    """What model.fit logs for metric identifiers, and which class each one became."""
    rng = np.random.default_rng(3)
    runs = []
    specs = [
        (3, "sigmoid", "binary_crossentropy", False, ["accuracy"]),
        (1, "sigmoid", "binary_crossentropy", False, ["acc", "AUC", "precision"]),
        (3, "softmax", "sparse_categorical_crossentropy", True, ["accuracy", "sparse_top_k_categorical_accuracy"]),
        (3, "softmax", "categorical_crossentropy", False,
         ["accuracy", "mse", "mae", {"class": "MeanSquaredError"}, {"function": "mean_squared_error"},
          "binary_accuracy", "mean_squared_error", {"class": "AUC"}, {"class": "AUC", "kwargs": {"name": "my_auc"}},
          "top_k_categorical_accuracy", "categorical_crossentropy", "Accuracy"]),
        (3, "softmax", "mse", False, ["acc", "mape", "msle", "cosine_similarity", "log_cosh_error", "kl_divergence"]),
        (1, "linear", "mse", False, ["accuracy", "root_mean_squared_error", "RootMeanSquaredError"]),
    ]
    for units, act, loss, sparse, metrics in specs:
        keras.backend.clear_session()
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=act)])
        objs = []
        for mm in metrics:
            if isinstance(mm, dict) and "class" in mm:
                objs.append(getattr(keras.metrics, mm["class"])(**mm.get("kwargs", {})))
            elif isinstance(mm, dict):
                objs.append(getattr(keras.metrics, mm["function"]))
            else:
                objs.append(mm)
        model.compile("sgd", loss=loss, metrics=objs)
        x = rng.standard_normal((8, 4)).astype("float32")
        y = rng.integers(0, units, (8,)) if sparse else (rng.random((8, units)) > 0.5).astype("float32")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hist = model.fit(x, y, epochs=1, verbose=0)
        resolved = [[type(o).__name__, o.name] for o in model._compile_metrics._flat_metrics[0].metrics]
        runs.append({"units": units, "activation": act, "loss": loss, "sparse": sparse, "metrics": metrics,
                     "history_keys": list(hist.history), "resolved": resolved})
    return runs


def run_metrics():
    a = metric_inputs()
    cases = metric_cases()
    out = dict(a)
    for i, case in enumerate(cases):
        keras.backend.clear_session()  # automatic names (auc, precision, ...) restart per case
        obj = getattr(keras.metrics, case["class"])(**case["kwargs"])
        yt_key, yp_key = case["inputs"]
        results = []
        for b in ("b0", "b1"):
            sw = a[f"{b}_sw"] if case["sw"] else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if yp_key is None:
                    obj.update_state(a[f"{b}_{yt_key}"], sample_weight=sw)
                else:
                    obj.update_state(a[f"{b}_{yt_key}"], a[f"{b}_{yp_key}"], sample_weight=sw)
            results.append(f32(keras.ops.convert_to_numpy(obj.result())))
        out[f"case{i}_batch0"], out[f"case{i}"] = results
        obj.reset_state()
        out[f"case{i}_reset"] = f32(keras.ops.convert_to_numpy(obj.result()))
        case["key"] = f"case{i}"
        case["name"] = obj.name
        case["config"] = obj.get_config()
    for j, (name, yt, yp, kw) in enumerate(FUNCTIONS):
        out[f"fn{j}"] = f32(keras.ops.convert_to_numpy(getattr(keras.metrics, name)(a[f"b0_{yt}"], a[f"b0_{yp}"],
                                                                                   **kw)))
    defaults = {}
    for name in ("Mean", "Sum", "MeanSquaredError", "MeanAbsoluteError", "BinaryAccuracy", "CategoricalAccuracy",
                 "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "Accuracy",
                 "Precision", "Recall", "AUC", "RootMeanSquaredError", "LogCoshError", "CosineSimilarity",
                 "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
        keras.backend.clear_session()
        obj = getattr(keras.metrics, name)()
        defaults[name] = {"name": obj.name, "config": obj.get_config()}
    get_kinds = {}
    for ident in ("mse", "mae", "mape", "msle", "bce", "mean_squared_error", "MeanSquaredError", "accuracy",
                  "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "auc", "AUC",
                  "precision", "recall", "categorical_crossentropy", "top_k_categorical_accuracy"):
        keras.backend.clear_session()
        obj = keras.metrics.get(ident)
        get_kinds[ident] = {"class": type(obj).__name__, "name": obj.name}
    meta = {"keras_version": keras.__version__, "cases": cases,
            "functions": [{"name": n, "inputs": [yt, yp], "kwargs": kw, "key": f"fn{j}"}
                          for j, (n, yt, yp, kw) in enumerate(FUNCTIONS)],
            "defaults": defaults, "get": get_kinds, "fit": fit_names()}
    out["__meta__"] = np.array(json.dumps(jsonable(meta), sort_keys=True, indent=1))
    save_npz(os.path.join(OUT, "metrics.npz"), out)
    return len(cases)


if __name__ == "__main__":
    print("loss cases:", run_losses())
    print("metric cases:", run_metrics())
