"""Every callback driven by a real `fit` on a compiled model (not a fake)."""
import csv
import os

import numpy as np
import pytest

from graphc import keras


@pytest.fixture(autouse=True)
def fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def _model(lr=0.05):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse", metrics=["mae"])
    return model


def _data(n=32):
    x = np.random.default_rng(0).standard_normal((n, 3)).astype(np.float32)
    return x, x.sum(1, keepdims=True)


def test_model_checkpoint_writes_only_on_improvement(tmp_path):
    model = _model()
    x, y = _data()
    writes = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            path = tmp_path / "best.weights.h5"
            writes.append((epoch, logs["loss"], path.stat().st_mtime_ns if path.exists() else None))

    class Worsen(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = 0.05 if epoch < 3 else 3.0  # epochs 3+ get worse

    ckpt = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.weights.h5"), monitor="loss", save_best_only=True,
                                           save_weights_only=True)
    named = keras.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch:02d}-{loss:.3f}.weights.h5"),
                                            save_weights_only=True)
    hist = model.fit(x, y, epochs=6, batch_size=8, verbose=0, callbacks=[Worsen(), ckpt, named, Spy()])
    losses = hist.history["loss"]
    best_so_far = np.minimum.accumulate(losses)
    for i in range(1, len(writes)):
        improved = losses[i] < best_so_far[i - 1]
        assert (writes[i][2] != writes[i - 1][2]) == improved, (i, losses)
    assert len(list(tmp_path.glob("w*-*.weights.h5"))) == 6
    assert (tmp_path / f"w01-{losses[0]:.3f}.weights.h5").exists()
    fresh = _model()
    fresh.load_weights(str(tmp_path / "best.weights.h5"))
    assert fresh.evaluate(x, y, verbose=0)[0] == pytest.approx(min(losses), rel=0.5)


def test_interrupted_checkpoint_write_keeps_the_previous_file(tmp_path, monkeypatch):
    model = _model()
    x, y = _data()
    path = tmp_path / "ckpt.weights.h5"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(str(path), save_weights_only=True)])
    before = path.read_bytes()
    import h5py

    class Boom(RuntimeError):
        pass

    real_create = h5py.File.create_dataset if hasattr(h5py.File, "create_dataset") else None

    def failing(self, *a, **k):
        raise Boom("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(Boom):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[keras.callbacks.ModelCheckpoint(str(path), save_weights_only=True)])
    assert path.read_bytes() == before
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert real_create is not None or True


def test_learning_rate_scheduler_sets_each_epochs_rate():
    model = _model()
    x, y = _data()
    hist = model.fit(x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: 0.01 * (epoch + 1))])
    np.testing.assert_allclose(hist.history["learning_rate"], [0.01, 0.02, 0.03], rtol=1e-6)
    assert len(model._train_programs) == 1  # learning-rate changes never recompile


def test_reduce_lr_on_plateau_through_fit():
    model = _model(lr=0.05)
    x, y = _data()
    # min_delta so large that no epoch counts as an improvement: a plateau from the start
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    hist = model.fit(x, y, epochs=4, verbose=0, callbacks=[plateau])
    # epoch 0 improves on +inf; epochs 1, 2 and 3 each reduce (patience 1), as Keras does
    assert model.optimizer.learning_rate == pytest.approx(0.05 * 0.5 ** 3, rel=1e-6)
    # the logged rate is the one the epoch trained with (logged before that epoch's reduction)
    assert hist.history["learning_rate"][-1] == pytest.approx(0.05 * 0.5 ** 2, rel=1e-6)


def test_csv_logger_history_and_terminate_on_nan(tmp_path):
    model = _model()
    x, y = _data()
    log = tmp_path / "log.csv"
    hist = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                     callbacks=[keras.callbacks.CSVLogger(str(log))])
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[-1]["val_loss"]) == pytest.approx(hist.history["val_loss"][-1], rel=1e-6)
    assert hist.epoch == [0, 1, 2] and model.history is hist
    bad = _model(lr=1e6)
    h = bad.fit(x * 1e3, y * 1e3, epochs=5, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(h.history["loss"]) < 5 and not np.isfinite(h.history["loss"][-1])


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_progress_output_for_each_verbosity(verbose, capsys):
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=verbose)
    out = capsys.readouterr().out
    if verbose == 0:
        assert out == ""
    else:
        assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out and "mae:" in out
        if verbose == 1:
            assert "4/4" in out and "━" in out


def test_custom_callback_sees_every_hook_in_order():
    model = _model()
    x, y = _data(16)
    seen = []

    class Hooks(keras.callbacks.Callback):
        def __getattribute__(self, name):
            attr = object.__getattribute__(self, name)
            if name.startswith("on_") and callable(attr):
                def wrapped(*a, **k):
                    seen.append(name)
                    return attr(*a, **k)
                return wrapped
            return attr

    hook = Hooks()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_data=(x, y), callbacks=[hook])
    assert seen[0] == "on_train_begin" and seen[-1] == "on_train_end"
    assert seen.count("on_train_batch_begin") == 2 and seen.count("on_epoch_end") == 1
    assert hook.model is model and hook.params["epochs"] == 1
    model.evaluate(x, y, verbose=0, callbacks=[hook])
    assert "on_test_begin" in seen and "on_test_batch_end" in seen


def test_initial_epoch_continues_numbering():
    model = _model()
    x, y = _data()
    hist = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert hist.epoch == [2, 3]
