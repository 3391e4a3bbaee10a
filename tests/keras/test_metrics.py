"""keras.metrics: numpy accumulation vs numpy formulas written here and vs values real Keras 3
computed (tests/data/keras/metrics.npz, from tools/make_loss_fixtures.py)."""
import json
from pathlib import Path

import numpy as np
import pytest

from graphc import keras
from graphc.keras import losses, metrics
from harness import assert_close

DATA = np.load(Path(__file__).resolve().parent.parent / "data" / "keras" / "metrics.npz")
META = json.loads(DATA["__meta__"].item())
RNG = np.random.default_rng(5)


def _arr(key):
    return DATA[key]


# --- real Keras values ---------------------------------------------------------------------
@pytest.mark.parametrize("case", META["cases"], ids=[c["id"] for c in META["cases"]])
def test_matches_keras(case):
    keras.backend.clear_session()
    m = getattr(metrics, case["class"])(**case["kwargs"])
    yt_key, yp_key = case["inputs"]
    results = []
    for b in ("b0", "b1"):
        sw = _arr(f"{b}_sw") if case["sw"] else None
        if yp_key is None:
            m.update_state(_arr(f"{b}_{yt_key}"), sample_weight=sw)
        else:
            m.update_state(_arr(f"{b}_{yt_key}"), _arr(f"{b}_{yp_key}"), sample_weight=sw)
        results.append(m.result())
    key = case["key"]
    assert_close(results[0], DATA[f"{key}_batch0"], rtol=2e-5, what=f"{case['id']} after one batch")
    assert_close(results[1], DATA[key], rtol=2e-5, what=f"{case['id']} after two batches")
    assert np.asarray(results[1]).dtype == np.float32
    m.reset_state()
    assert_close(m.result(), DATA[f"{key}_reset"], what=f"{case['id']} after reset")
    assert m.name == case["name"]
    config = m.get_config()
    assert config == case["config"], case["id"]
    assert type(m).from_config(config).get_config() == config


@pytest.mark.parametrize("fn", META["functions"], ids=[f"{f['name']}:{f['kwargs']}" for f in META["functions"]])
def test_functions_match_keras(fn):
    yt, yp = (_arr(f"b0_{k}") for k in fn["inputs"])
    got = getattr(metrics, fn["name"])(yt, yp, **fn["kwargs"])
    assert_close(got, DATA[fn["key"]], rtol=2e-5, what=fn["name"])


def test_defaults_and_get_match_keras():
    for name, info in META["defaults"].items():
        keras.backend.clear_session()
        m = getattr(metrics, name)()
        assert m.name == info["name"], name
        assert m.get_config() == info["config"], name
    for ident, info in META["get"].items():
        keras.backend.clear_session()
        m = metrics.get(ident)
        assert type(m).__name__ == info["class"] and m.name == info["name"], ident
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get("no_such_metric")


@pytest.mark.parametrize("run", META["fit"], ids=[f"{r['loss']}-{r['units']}" for r in META["fit"]])
def test_resolve_metric_names_like_keras_fit(run):
    """compile(metrics=[...]) in real Keras: the class each entry became and the keys fit() logged."""
    keras.backend.clear_session()
    loss = losses.get(run["loss"])
    out_shape = (None, run["units"])
    resolved = []
    for spec in run["metrics"]:
        if isinstance(spec, dict) and "class" in spec:
            spec = getattr(metrics, spec["class"])(**spec.get("kwargs", {}))
        elif isinstance(spec, dict):
            spec = getattr(metrics, spec["function"])
        m = metrics.resolve_metric(spec, loss, out_shape)
        resolved.append([type(m).__name__, m.name])
    assert resolved == run["resolved"]
    assert sorted(metrics.unique_names([n for _, n in resolved]) + ["loss"]) == sorted(run["history_keys"])


def test_resolve_accuracy_variants():
    assert type(metrics.resolve_metric("accuracy", "binary_crossentropy", (None, 1))) is metrics.BinaryAccuracy
    assert type(metrics.resolve_metric("acc", "sparse_categorical_crossentropy", (None, 10))) is \
        metrics.SparseCategoricalAccuracy
    sparse_loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert type(metrics.resolve_metric("Accuracy", sparse_loss, (None, 10))) is metrics.SparseCategoricalAccuracy
    assert type(metrics.resolve_metric("accuracy", "categorical_crossentropy", (None, 10))) is \
        metrics.CategoricalAccuracy
    # Keras 3 decides from the shapes, not the loss: multi-label sigmoid outputs get CategoricalAccuracy
    assert type(metrics.resolve_metric("accuracy", "binary_crossentropy", (None, 3))) is metrics.CategoricalAccuracy
    assert type(metrics.resolve_metric("accuracy", "mse", (None, 3), y_true_shape=(None, 1))) is \
        metrics.SparseCategoricalAccuracy
    assert metrics.resolve_metric("acc", None, (None, 3)).name == "acc"
    assert metrics.resolve_metric(metrics.MeanSquaredError(), None, (None, 3)).name == "mean_squared_error"
    m = metrics.resolve_metric(metrics.mean_absolute_error, None, (None, 3))
    assert isinstance(m, metrics.MeanMetricWrapper) and m.name == "mean_absolute_error"
    with pytest.raises(ValueError, match="Expected metric"):
        metrics.resolve_metric(None)


# --- numpy formulas ---------------------------------------------------------------------------
def test_accuracies_vs_formulas_and_accumulation():
    p1, p2 = RNG.random((7, 4)), RNG.random((5, 4))
    t1, t2 = RNG.integers(0, 4, 7), RNG.integers(0, 4, 5)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(t1, p1)
    m.update_state(t2.reshape(-1, 1), p2)
    hits = np.concatenate([p1.argmax(-1) == t1, p2.argmax(-1) == t2])
    assert_close(m.result(), hits.mean())
    c = metrics.CategoricalAccuracy()
    c.update_state(np.eye(4)[t1], p1, sample_weight=np.arange(7))
    assert_close(c.result(), np.sum((p1.argmax(-1) == t1) * np.arange(7)) / np.arange(7).sum())
    b = metrics.BinaryAccuracy(threshold=0.3)
    z = RNG.integers(0, 2, (7, 4))
    b.update_state(z, p1)
    assert_close(b.result(), np.mean((p1 > 0.3) == z))
    k = metrics.TopKCategoricalAccuracy(k=2)
    k.update_state(np.eye(4)[t1], p1)
    top2 = np.argsort(-p1, -1)[:, :2]
    assert_close(k.result(), np.mean([t in row for t, row in zip(t1, top2)]))
    k.reset_state()
    assert k.result() == 0.0


def test_mean_and_sum():
    m = metrics.Mean(name="loss")
    m.update_state(2.0, sample_weight=3)  # what fit() does with a batch loss and a batch size
    m.update_state(4.0, sample_weight=1)
    assert_close(m.result(), 2.5)
    s = metrics.Sum()
    s.update_state(np.array([[1.0, 2.0], [3.0, 4.0]]), sample_weight=np.array([1.0, 0.5]))
    assert_close(s.result(), 1 + 2 + 0.5 * 7)
    assert metrics.Mean().result() == 0.0  # divide_no_nan


def _confusion(y, p, thresholds, w=None):
    w = np.ones_like(p) if w is None else np.broadcast_to(w, p.shape)
    pos = y != 0
    tp = np.array([np.sum(w * (pos & (p > t))) for t in thresholds])
    fp = np.array([np.sum(w * (~pos & (p > t))) for t in thresholds])
    fn = np.array([np.sum(w * (pos & (p <= t))) for t in thresholds])
    tn = np.array([np.sum(w * (~pos & (p <= t))) for t in thresholds])
    return tp, fp, tn, fn


def test_precision_recall_vs_formulas():
    y = RNG.integers(0, 2, (9, 3)).astype(np.float32)
    p = RNG.random((9, 3)).astype(np.float32)
    tp, fp, tn, fn = _confusion(y, p, [0.2, 0.5, 0.8])
    pr = metrics.Precision(thresholds=[0.2, 0.5, 0.8])
    rc = metrics.Recall(thresholds=[0.2, 0.5, 0.8])
    for m in (pr, rc):
        m.update_state(y[:4], p[:4])
        m.update_state(y[4:], p[4:])
    assert_close(pr.result(), tp / (tp + fp))
    assert_close(rc.result(), tp / (tp + fn))
    pk = metrics.Precision(top_k=1)
    pk.update_state(y, p)
    best = p.argmax(-1)
    assert_close(pk.result(), np.mean(y[np.arange(9), best]))


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_auc_vs_formula(curve):
    y = RNG.integers(0, 2, 300).astype(np.float32)
    p = np.clip(y * 0.3 + RNG.random(300) * 0.7, 0, 1).astype(np.float32)
    n = 50
    thresholds = [-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7]
    tp, fp, tn, fn = _confusion(y, p, np.float32(thresholds))
    auc = metrics.AUC(num_thresholds=n, curve=curve)
    auc.update_state(y[:100], p[:100])
    auc.update_state(y[100:], p[100:])
    rec = tp / (tp + fn)
    if curve == "ROC":
        fpr = fp / (fp + tn)
        want = np.sum((fpr[:-1] - fpr[1:]) * (rec[:-1] + rec[1:]) / 2)
        # and close to the exact ROC AUC (probability a positive outranks a negative)
        pos, neg = p[y == 1], p[y == 0]
        exact = np.mean(pos[:, None] > neg[None]) + 0.5 * np.mean(pos[:, None] == neg[None])
        assert abs(float(auc.result()) - exact) < 0.02
    else:  # Davis & Goadrich interpolation between thresholds (Keras's closed form)
        want = 0.0
        for i in range(n - 1):
            dtp, p_a, p_b = tp[i] - tp[i + 1], tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            if p_a - p_b <= 0:
                continue
            slope = dtp / (p_a - p_b)
            intercept = tp[i + 1] - slope * p_b
            ratio = p_a / p_b if p_b > 0 else 1.0
            want += slope * (dtp + intercept * np.log(ratio)) / (tp[i + 1] + fn[i + 1])
    assert_close(auc.result(), want, rtol=1e-5)
    auc.reset_state()
    assert auc.result() == 0.0


def test_auc_validation_and_config_round_trip():
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="roc_curve")
    a = metrics.AUC(thresholds=[0.3, 0.1, 0.6], curve="pr", summation_method="majoring", from_logits=True)
    config = a.get_config()
    assert config["curve"] == "PR" and config["thresholds"] == [0.1, 0.3, 0.6] and config["num_thresholds"] == 5
    assert metrics.AUC.from_config(config).get_config() == config
    assert metrics.deserialize(metrics.serialize(a)).get_config() == config


# --- loss-named functions and wrappers ------------------------------------------------------------
def test_loss_functions_work_on_numpy_and_trace_on_symbols():
    t, p = RNG.standard_normal((4, 3)).astype(np.float32), RNG.standard_normal((4, 3)).astype(np.float32)
    assert_close(metrics.mean_squared_error(t, p), np.mean((t - p) ** 2, -1))
    from graphc.keras.engine.trace import Tracer
    tr = Tracer()
    a, b = (tr.value(tr.b.input(n, "float32", (4, 3))) for n in "ab")
    out = metrics.mean_squared_error(a, b)
    assert out.shape == (4,) and {op.op_type for op in tr.b.g.ops()} >= {"ReduceMean"}


def test_mean_metric_wrapper_with_traced_and_numpy_functions():
    t, p = RNG.standard_normal((6, 2)).astype(np.float32), RNG.standard_normal((6, 2)).astype(np.float32)

    def ops_fn(y_true, y_pred):  # written with keras.ops: traced and compiled by graphc
        return keras.ops.mean(keras.ops.abs(y_true - y_pred) * 3.0, axis=-1)

    def np_fn(y_true, y_pred):
        return np.max(np.abs(y_true - y_pred), axis=-1)

    m = metrics.MeanMetricWrapper(ops_fn)
    assert m.name == "ops_fn"
    m.update_state(t[:4], p[:4])
    m.update_state(t[4:], p[4:])  # another batch size: the same compiled program
    assert_close(m.result(), np.mean(np.abs(t - p) * 3))
    n = metrics.MeanMetricWrapper(np_fn, name="maxerr")
    n.update_state(t, p, sample_weight=np.arange(6.0))
    assert_close(n.result(), np.sum(np.max(np.abs(t - p), -1) * np.arange(6)) / 15)
    lw = metrics.resolve_metric(losses.MeanAbsoluteError(), None, (None, 2))  # a Loss object as a metric
    lw.update_state(t, p)
    assert lw.name == "mean_absolute_error"
    assert_close(lw.result(), np.mean(np.abs(t - p)))
    huber = metrics.resolve_metric(losses.Huber(delta=0.5), None, (None, 2))
    huber.update_state(t, p)
    e = np.abs(t - p)
    assert_close(huber.result(), np.mean(np.where(e <= 0.5, 0.5 * e ** 2, 0.5 * e - 0.125)), rtol=1e-5)


def test_sparse_crossentropy_metric_ignore_class():
    probs = RNG.random((5, 3)).astype(np.float32)
    probs /= probs.sum(-1, keepdims=True)
    labels = np.array([0, 2, 1, 2, 0])
    m = metrics.SparseCategoricalCrossentropy(ignore_class=2)
    m.update_state(labels, probs)
    per = -np.log(probs[np.arange(5), labels]) * (labels != 2)
    assert_close(m.result(), per.sum() / 5, rtol=1e-5)  # Keras's metric averages over all entries
