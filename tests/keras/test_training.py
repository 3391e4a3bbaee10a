"""Training in generated code: parity with real Keras runs, tutorials, train-mode layers, the API."""
import json
from pathlib import Path

import numpy as np
import pytest

import keras_training_models as ktm
from graphc import datasets, keras
from harness import assert_close

DATA = Path(__file__).resolve().parent.parent / "data" / "keras"


@pytest.fixture(autouse=True)
def fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


@pytest.mark.parametrize("name", sorted(ktm.CASES))
def test_loss_curve_and_weights_match_real_keras(name):
    case = ktm.CASES[name]
    meta = json.loads((DATA / f"train_{name}.json").read_text())
    arrays = np.load(DATA / f"train_{name}.npz")
    model = case["build"](keras)
    n_w = len(model.weights)
    model.set_weights([arrays[f"init{i}"] for i in range(n_w)])
    model.compile(**case["compile"](keras))
    hist = model.fit(arrays["x"], arrays["y"], batch_size=case["batch_size"], epochs=case["epochs"],
                     shuffle=False, verbose=0)
    assert set(hist.history) == set(meta["history"])
    for key, want in meta["history"].items():
        np.testing.assert_allclose(hist.history[key], want, rtol=2e-4, atol=1e-5, err_msg=key)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, arrays[f"final{i}"], rtol=2e-3, atol=2e-5, err_msg=f"weight {i}")
    assert_close(model.predict(arrays["x"], verbose=0), arrays["pred"], rtol=1e-3)
    ev = model.evaluate(arrays["x"], arrays["y"], batch_size=case["batch_size"], verbose=0, return_dict=True)
    for key, want in meta["evaluate"].items():
        assert ev[key] == pytest.approx(want, rel=1e-3, abs=1e-5), key


def xor_model(seed):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_dim=2),
                              keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_xor_tutorial_learns_for_most_seeds():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    solved = 0
    for seed in range(10):
        model = xor_model(seed)
        hist = model.fit(x, y, batch_size=1, epochs=500, verbose=0)
        losses = hist.history["loss"]
        assert losses[-1] < losses[0], f"seed {seed}: loss did not fall ({losses[0]} -> {losses[-1]})"
        solved += ((model.predict(x, verbose=0) > 0.5) == y).all()
    assert solved >= 6, f"only {solved}/10 seeds reached 100% accuracy"


def test_digits_mlp_reaches_96_percent():
    (x_train, y_train), (x_test, y_test) = datasets.digits()
    x_train, x_test = x_train.reshape(-1, 64) / 16, x_test.reshape(-1, 64) / 16
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, keras.utils.to_categorical(y_train, 10), batch_size=32, epochs=30, verbose=0)
    loss, acc = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)
    assert acc >= 0.96, acc


def test_digits_cnn_reaches_97_percent():
    (x_train, y_train), (x_test, y_test) = datasets.digits()
    x_train, x_test = x_train[..., None] / 16, x_test[..., None] / 16
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=20, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.97


def _small_model(**dense_kwargs):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu", **dense_kwargs),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_train_on_batch_updates_in_place_and_short_batches_reuse_the_program():
    model = _small_model()
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    before = [w.copy() for w in model.get_weights()]
    loss0 = model.train_on_batch(x, y)
    assert isinstance(loss0, float)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)  # batches 4, 4, 2
    assert len(model._train_programs) == 1
    assert model.optimizer.iterations.numpy() == 1 + 2 * 3
    assert model.test_on_batch(x, y) < loss0


def test_evaluate_formats_and_metric_names():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    x, y = np.random.default_rng(0).standard_normal((9, 3)), np.array([0, 1] * 4 + [1])
    res = model.evaluate(x, y, verbose=0)
    assert isinstance(res, list) and len(res) == 2
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d) == {"loss", "acc"}
    hist = model.fit(x, y, validation_split=0.34, epochs=2, verbose=0)
    assert set(hist.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert len(hist.history["loss"]) == 2


def test_frozen_layer_keeps_its_weights_and_counts_as_non_trainable():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.layers[0].trainable = False
    frozen = [w.copy() for w in model.layers[0].get_weights()]
    head = [w.copy() for w in model.layers[1].get_weights()]
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(head, model.layers[1].get_weights()))
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Non-trainable params: 16" in l for l in lines)


def test_batchnorm_uses_batch_statistics_and_updates_moving_ones():
    model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(momentum=0.5)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    model.train_on_batch(x, np.zeros_like(x))
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * 0 + 0.5 * x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.5 * 1 + 0.5 * x.var(0), rtol=1e-6)


def test_dropout_drops_in_training_only():
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dropout(0.5, seed=1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 1000), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    loss = model.train_on_batch(x, x)  # loss = mean((mask*2 - 1)^2) = 1 exactly for inverted dropout at 0.5
    assert loss == pytest.approx(1.0, rel=1e-6)


def test_regularization_adds_to_the_loss():
    model = _small_model(kernel_regularizer=keras.regularizers.l2(0.5))
    x, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    k = model.layers[0].get_weights()[0]
    loss = model.test_on_batch(x, y)
    assert loss == pytest.approx(0.5 * float((k ** 2).sum()) + 0.0, rel=1e-5)


def test_learning_rate_changes_between_steps_without_recompiling():
    model = _small_model()
    x = np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32)
    model.train_on_batch(x, x[:, :1])
    model.optimizer.learning_rate = 0.0
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, x[:, :1])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(model._train_programs) == 1


def test_early_stopping_through_fit_restores_best_weights():
    model = _small_model()
    x = np.random.default_rng(2).standard_normal((32, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)

    class Diverge(keras.callbacks.Callback):
        """From epoch 3 on, the learning rate makes training diverge, so loss stops improving."""
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                self.model.optimizer.learning_rate = 5.0

    snapshots = []

    class Snap(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append([w.copy() for w in self.model.get_weights()])

    hist = model.fit(x, y, epochs=50, batch_size=8, verbose=0, callbacks=[Diverge(), Snap(), stopper])
    losses = hist.history["loss"]
    best = int(np.nanargmin(losses))
    assert len(losses) == best + 3  # patience 2: stops two epochs after the best one
    for a, b in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_save_best_only_through_fit(tmp_path):
    model = _small_model()
    x = np.random.default_rng(3).standard_normal((16, 3)).astype(np.float32)
    path = tmp_path / "best.weights.h5"
    ckpt = keras.callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True, save_weights_only=True)
    model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[ckpt])
    assert path.exists()
    fresh = _small_model()
    fresh.load_weights(str(path))
    assert len(fresh.get_weights()) == len(model.get_weights())


def test_accuracy_resolves_from_target_shapes_and_multi_output_logs():
    inp = keras.Input((4,))
    h = keras.layers.Dense(8, activation="relu")(inp)
    cls = keras.layers.Dense(3, activation="softmax", name="cls")(h)
    reg = keras.layers.Dense(1, name="reg")(h)
    model = keras.Model(inp, [cls, reg])
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], ["mae"]])
    rng = np.random.default_rng(0)
    x, y1, y2 = rng.standard_normal((20, 4)), rng.integers(0, 3, 20), rng.standard_normal((20, 1))
    hist = model.fit(x, [y1, y2], epochs=2, batch_size=8, verbose=0)
    assert set(hist.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"}
    ev = model.evaluate(x, {"cls": y1, "reg": y2}, verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(ev["cls_loss"] + 0.5 * ev["reg_loss"], rel=1e-5)
    pred = model.predict(x, verbose=0)
    assert ev["cls_accuracy"] == pytest.approx(float((pred[0].argmax(1) == y1).mean()))


def test_class_weight_and_sample_weight_scale_the_loss():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.ones((4, 2), np.float32), np.array([0, 0, 1, 1])
    base = model.test_on_batch(x, y)
    assert model.test_on_batch(x, y, sample_weight=np.full(4, 2.0)) == pytest.approx(2 * base, rel=1e-5)
    w0 = model.evaluate(x, y, sample_weight=np.array([1.0, 1.0, 0.0, 0.0]), verbose=0)
    probs = model.predict(x, verbose=0)
    assert w0 == pytest.approx(-np.log(probs[0, 0]) * 2 / 4, rel=1e-5)  # sum_over_batch_size divides by 4


def test_freezing_a_whole_base_model_for_transfer_learning():
    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                             keras.layers.BatchNormalization()], name="base")
    model = keras.Sequential([keras.Input((4,)), base, keras.layers.Dense(1)])
    base.trainable = False
    model.compile(optimizer="adam", loss="mse")  # Keras: recompile after changing `trainable`
    frozen = [w.copy() for w in base.get_weights()]
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    for a, b in zip(frozen, base.get_weights()):  # BN statistics too: a frozen BN runs in inference mode
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6
