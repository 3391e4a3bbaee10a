"""keras.callbacks driven by a small fake model and synthetic logs.

Expected values are worked out by hand from Keras 3's documented semantics (the comments say
how); the same sequences were also run through real Keras 3 when these tests were written.
"""
import csv
import io
import math
import os
import re
import sys

import numpy as np
import pytest

from graphc.io import atomic_write
from graphc.keras import callbacks
from graphc.keras.utils import progbar as progbar_mod
from graphc.keras.utils.progbar import Progbar


# --- a fake model ------------------------------------------------------------------------------
class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self._lr = learning_rate

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = float(value)


class FakeModel:
    """Weights are one array holding the index of the epoch that produced them."""

    def __init__(self, fail_on_save=None):
        self.stop_training = False
        self.history = None
        self.optimizer = FakeOptimizer()
        self.weights = [np.array([-1.0]), np.zeros((2, 2))]
        self.saved = []  # (kind, path)
        self.fail_on_save = fail_on_save  # the save number (1-based) that dies half-way

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def _write(self, kind, path):
        self.saved.append((kind, path))
        with atomic_write(path, "w") as f:
            f.write(f"weights of epoch {int(self.weights[0][0])}\n")
            if self.fail_on_save == len(self.saved):
                raise OSError("disk full (simulated)")

    def save_weights(self, filepath, overwrite=True):
        self._write("weights", filepath)

    def save(self, filepath, overwrite=True):
        self._write("model", filepath)


def fit(model, cbs, epoch_logs, batches=1, batch_logs=None, verbose=0):
    """What Model.fit does with callbacks; epoch e's logs are ``epoch_logs[e]``, and the
    model's weights are set to [e] during epoch e. Returns (history, epochs run)."""
    cl = callbacks.CallbackList(cbs, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
                                epochs=len(epoch_logs), steps=batches)
    model.stop_training = False
    cl.on_train_begin()
    ran = 0
    for epoch, logs in enumerate(epoch_logs):
        cl.on_epoch_begin(epoch)
        model.weights[0] = np.array([float(epoch)])
        for b in range(batches):
            cl.on_train_batch_begin(b)
            cl.on_train_batch_end(b, batch_logs(epoch, b) if batch_logs else {"loss": logs.get("loss", 0.0)})
            if model.stop_training:
                break
        cl.on_epoch_end(epoch, dict(logs))
        ran += 1
        if model.stop_training:
            break
    cl.on_train_end(dict(epoch_logs[ran - 1]) if ran else {})
    return model.history, ran


def losses(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


# --- Callback / CallbackList / History ---------------------------------------------------------
HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]


class Recorder(callbacks.Callback):
    def __init__(self, tag, log):
        super().__init__()
        self.tag, self.log = tag, log
        for hook in HOOKS + ["on_batch_begin", "on_batch_end"]:
            setattr(self, hook, self._make(hook))

    def _make(self, hook):
        def record(*args, **kwargs):
            self.log.append((self.tag, hook) + args + tuple(kwargs.values()))
        return record


def test_base_callback_has_every_hook_and_they_do_nothing():
    cb = callbacks.Callback()
    assert cb.model is None and cb.params is None
    for hook in HOOKS:
        assert getattr(cb, hook)(*((0, {}) if ("batch" in hook or "epoch" in hook) else ({},))) is None
    model = FakeModel()
    cb.set_model(model)
    cb.set_params({"epochs": 3})
    assert cb.model is model and cb.params == {"epochs": 3}


def test_train_batch_hooks_call_the_tf_keras_aliases():
    seen = []

    class Old(callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    cb = Old()
    cb.on_train_batch_begin(3)
    cb.on_train_batch_end(3, {"loss": 1.0})
    assert seen == [("begin", 3), ("end", 3, {"loss": 1.0})]


def test_callback_list_dispatches_in_order_with_one_logs_dict():
    log = []
    a, b = Recorder("a", log), Recorder("b", log)
    model = FakeModel()
    cl = callbacks.CallbackList([a, [b]], model=model, verbose=0, epochs=2, steps=5)
    assert cl.callbacks == [a, b] and len(cl) == 2
    assert a.model is model and b.params == {"verbose": 0, "epochs": 2, "steps": 5}
    for hook in ["on_train_begin", "on_test_begin", "on_predict_begin"]:
        getattr(cl, hook)({"x": np.float32(0.5)})
    cl.on_epoch_end(1, {"loss": np.float64(0.25), "acc": np.array(0.75, dtype=np.float32), "name": "n"})
    cl.on_train_batch_end(4, {"loss": 1})
    assert [entry[:2] for entry in log[:6]] == [("a", "on_train_begin"), ("b", "on_train_begin"),
                                                ("a", "on_test_begin"), ("b", "on_test_begin"),
                                                ("a", "on_predict_begin"), ("b", "on_predict_begin")]
    epoch_a, epoch_b = log[6], log[7]
    assert epoch_a[:3] == ("a", "on_epoch_end", 1)
    assert epoch_a[3] is epoch_b[3]  # the same dict: a callback's additions reach the next ones
    logs = epoch_a[3]
    assert list(logs) == ["acc", "loss", "name"]  # sorted, as Keras hands them over
    assert type(logs["acc"]) is float and type(logs["loss"]) is float and logs["name"] == "n"
    assert log[8] == ("a", "on_train_batch_end", 4, {"loss": 1.0})


def test_callback_list_adds_history_and_progbar_once():
    model = FakeModel()
    cl = callbacks.CallbackList(None, add_history=True, add_progbar=True, model=model, verbose=1, epochs=1, steps=1)
    kinds = [type(c) for c in cl.callbacks]
    assert kinds == [callbacks.History, callbacks.ProgbarLogger]
    assert model.history is cl.callbacks[0]
    mine = callbacks.History()
    cl = callbacks.CallbackList([mine], add_history=True, add_progbar=False, model=model)
    assert cl.callbacks == [mine] and model.history is mine
    with pytest.raises(TypeError, match="Callback"):
        callbacks.CallbackList([object()])


def test_history_records_epoch_logs():
    model = FakeModel()
    history, ran = fit(model, [], [{"loss": 0.5, "val_loss": 0.7}, {"loss": 0.4, "val_loss": 0.6},
                                   {"loss": 0.3, "val_loss": 0.65}])
    assert ran == 3 and isinstance(history, callbacks.History)
    assert history.history == {"loss": [0.5, 0.4, 0.3], "val_loss": [0.7, 0.6, 0.65]}
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 1}
    assert history.model is model


def test_lambda_callback():
    seen = []
    cb = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(("eb", e)),
                                  on_epoch_end=lambda e, logs: seen.append(("ee", e, logs["loss"])),
                                  on_train_begin=lambda logs: seen.append("tb"),
                                  on_train_end=lambda logs: seen.append("te"),
                                  on_train_batch_end=lambda b, logs: seen.append(("be", b)),
                                  on_test_end=lambda logs: seen.append("test_end"))
    fit(FakeModel(), [cb], [{"loss": 1.0}, {"loss": 2.0}], batches=2)
    assert seen == ["tb", ("eb", 0), ("be", 0), ("be", 1), ("ee", 0, 1.0), ("eb", 1), ("be", 0), ("be", 1),
                    ("ee", 1, 2.0), "te"]
    cb.on_test_end({})
    assert seen[-1] == "test_end"


# --- EarlyStopping -----------------------------------------------------------------------------
@pytest.mark.parametrize("patience,stopped_epoch", [(0, 2), (1, 2), (2, 3), (5, 6), (6, 0)])
def test_early_stopping_patience(patience, stopped_epoch):
    # best at epoch 1 (0.5; the later 0.5 is not better); stop at the end of the epoch that
    # makes `patience` epochs without improvement (the wait counts the current epoch, so
    # patience 0 and 1 both stop at the first epoch without improvement); 0 = never stopped
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=patience)
    history, ran = fit(model, [es], losses(0.9, 0.5, 0.6, 0.55, 0.7, 0.5, 0.8))
    assert es.stopped_epoch == stopped_epoch
    assert ran == (stopped_epoch + 1 if stopped_epoch else 7)
    assert model.stop_training is bool(stopped_epoch)
    assert len(history.history["val_loss"]) == ran
    assert es.best == 0.5 and es.best_epoch == 1


def test_early_stopping_min_delta():
    # min_delta=0.1: 0.85 is not an improvement over 0.9 (needs < 0.8), 0.79 is
    es = callbacks.EarlyStopping(patience=1, min_delta=0.1)
    _, ran = fit(FakeModel(), [es], losses(0.9, 0.85, 0.79, 0.75, 0.74))
    # epoch1 wait 1 -> stop? patience 1 and no improvement: stop at epoch 1
    assert ran == 2 and es.stopped_epoch == 1
    es = callbacks.EarlyStopping(patience=2, min_delta=0.1)
    _, ran = fit(FakeModel(), [es], losses(0.9, 0.85, 0.79, 0.75, 0.74, 0.73))
    # e1 no (wait 1), e2 0.79 < 0.8 improves (wait 0), e3 no (1), e4 no (2) -> stop at 4
    assert ran == 5 and es.stopped_epoch == 4 and es.best == 0.79
    es = callbacks.EarlyStopping(patience=0, min_delta=-0.1)  # the sign is ignored, as in Keras
    assert es.min_delta == 0.1


def test_early_stopping_compares_in_float32_like_keras():
    # 0.35 + 0.1 is 0.44999999999999996 in float64 but 0.45 in float32: not an improvement
    es = callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=0.1)
    _, ran = fit(FakeModel(), [es], losses(0.45, 0.35))
    assert ran == 2 and es.stopped_epoch == 1


def test_early_stopping_modes():
    # "auto" on an accuracy maximizes; "min" forces minimizing
    es = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    _, ran = fit(FakeModel(), [es], losses(0.5, 0.6, 0.55, 0.9, key="val_accuracy"))
    assert es.monitor_op(2, 1) and ran == 3 and es.best == 0.6
    es = callbacks.EarlyStopping(monitor="val_accuracy", patience=1, mode="min")
    _, ran = fit(FakeModel(), [es], losses(0.5, 0.6, 0.4, 0.9, key="val_accuracy"))
    assert ran == 2
    es = callbacks.EarlyStopping(monitor="val_auc", patience=0, mode="max")
    _, ran = fit(FakeModel(), [es], losses(0.5, 0.6, 0.7, 0.6, key="val_auc"))
    assert ran == 4
    es = callbacks.EarlyStopping(monitor="loss", patience=0)  # auto: a loss is minimized
    _, ran = fit(FakeModel(), [es], [{"loss": 1.0}, {"loss": 0.5}, {"loss": 0.7}])
    assert ran == 3


def test_early_stopping_mode_auto_reads_the_compiled_metric_direction():
    class Metric:
        name, _direction = "my_score", "up"

    model = FakeModel()
    model.metrics = [Metric()]
    es = callbacks.EarlyStopping(monitor="val_my_score", patience=0)
    _, ran = fit(model, [es], losses(0.1, 0.2, 0.1, key="val_my_score"))
    assert ran == 3  # 0.2 > 0.1 improved; 0.1 did not
    es = callbacks.EarlyStopping(monitor="val_unknown_thing")
    with pytest.raises(ValueError, match="mode='max'"):
        fit(FakeModel(), [es], losses(0.1, key="val_unknown_thing"))


def test_early_stopping_unknown_mode_warns_and_uses_auto():
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown, fallback to auto mode"):
        es = callbacks.EarlyStopping(mode="sideways")
    assert es.mode == "auto"


def test_early_stopping_baseline():
    # nothing beats the baseline 0.5: the wait is never reset, so training runs `patience`
    # epochs, and the best of them is restored
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=3, baseline=0.5, restore_best_weights=True)
    _, ran = fit(model, [es], losses(0.9, 0.8, 0.85, 0.95, 0.7, 0.6))
    assert ran == 3 and es.stopped_epoch == 2
    assert model.weights[0][0] == 1.0 and es.best_epoch == 1  # epoch 1 (0.8) restored
    # beating the baseline resets the wait
    es = callbacks.EarlyStopping(patience=2, baseline=0.5)
    _, ran = fit(FakeModel(), [es], losses(0.9, 0.4, 0.45, 0.3, 0.35, 0.36, 0.2))
    assert ran == 6 and es.stopped_epoch == 5


def test_early_stopping_start_from_epoch():
    # epochs 0 and 1 are a warm-up: the worsening there does not count
    es = callbacks.EarlyStopping(patience=1, start_from_epoch=2)
    _, ran = fit(FakeModel(), [es], losses(0.1, 0.2, 0.3, 0.4, 0.5))
    assert ran == 4 and es.stopped_epoch == 3 and es.best == 0.3 and es.best_epoch == 2


def test_early_stopping_restores_best_weights_when_stopped():
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    fit(model, [es], losses(0.9, 0.4, 0.5, 0.6, 0.1))
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    np.testing.assert_array_equal(model.weights[0], [1.0])
    np.testing.assert_array_equal(model.weights[1], np.zeros((2, 2)))


def test_early_stopping_restores_best_weights_even_without_stopping(capsys):
    # Keras 3 restores at the end of training whenever a best epoch was recorded
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=10, restore_best_weights=True, verbose=1)
    _, ran = fit(model, [es], losses(0.9, 0.2, 0.5, 0.6))
    assert ran == 4 and es.stopped_epoch == 0 and not model.stop_training
    assert model.weights[0][0] == 1.0
    out = capsys.readouterr().out
    assert "Restoring model weights from the end of the best epoch: 2." in out
    assert "early stopping" not in out
    # without restore_best_weights the last weights stay
    model = FakeModel()
    fit(model, [callbacks.EarlyStopping(patience=10)], losses(0.9, 0.2, 0.5, 0.6))
    assert model.weights[0][0] == 3.0


def test_early_stopping_verbose_message(capsys):
    fit(FakeModel(), [callbacks.EarlyStopping(patience=0, verbose=1)], losses(0.5, 0.6))
    assert capsys.readouterr().out == "Epoch 2: early stopping\n"


def test_early_stopping_is_reusable_across_fits():
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=0)
    fit(model, [es], losses(0.5, 0.6))
    _, ran = fit(model, [es], losses(0.9, 0.8, 0.7))
    assert ran == 3 and es.stopped_epoch == 0 and es.best == 0.7


def test_early_stopping_missing_monitor_warns_and_never_stops():
    es = callbacks.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=r"Early stopping conditioned on metric `val_loss` which is not "
                                         r"available. Available metrics are: loss"):
        _, ran = fit(FakeModel(), [es], [{"loss": 1.0}, {"loss": 2.0}])
    assert ran == 2


# --- ModelCheckpoint ---------------------------------------------------------------------------
def read(path):
    with open(path) as f:
        return f.read()


def test_checkpoint_every_epoch_with_formatted_names(tmp_path):
    model = FakeModel()
    pattern = str(tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.weights.h5")
    fit(model, [callbacks.ModelCheckpoint(pattern, save_weights_only=True)], losses(0.912, 0.5, 0.7))
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["w.01-0.91.weights.h5", "w.02-0.50.weights.h5",
                                                     "w.03-0.70.weights.h5"]
    assert read(tmp_path / "ckpt" / "w.02-0.50.weights.h5") == "weights of epoch 1\n"
    assert [k for k, _ in model.saved] == ["weights"] * 3


def test_checkpoint_save_best_only_writes_only_on_improvement(tmp_path):
    model = FakeModel()
    path = tmp_path / "best.keras"
    cp = callbacks.ModelCheckpoint(str(path), save_best_only=True)
    fit(model, [cp], losses(1.0, 0.8, 0.9, 0.7, 0.75))
    assert [os.path.basename(p) for _, p in model.saved] == ["best.keras"] * 3  # epochs 0, 1, 3
    assert model.saved[0][0] == "model"
    assert read(path) == "weights of epoch 3\n" and cp.best == 0.7
    # with a formatted name, each improvement gets its own file
    model = FakeModel()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.weights.h5"), monitor="val_accuracy",
                                   save_best_only=True, save_weights_only=True)
    fit(model, [cp], losses(0.5, 0.4, 0.6, 0.6, 0.61, key="val_accuracy"))
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith("m-")) == ["m-1.weights.h5", "m-3.weights.h5",
                                                                             "m-5.weights.h5"]


def test_checkpoint_initial_value_threshold(tmp_path):
    model = FakeModel()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "{epoch}.keras"), save_best_only=True,
                                   initial_value_threshold=0.5)
    fit(model, [cp], losses(0.6, 0.55, 0.4, 0.45))
    assert os.listdir(tmp_path) == ["3.keras"]


def test_checkpoint_interrupted_write_keeps_the_previous_file(tmp_path):
    model = FakeModel(fail_on_save=2)
    path = tmp_path / "best.weights.h5"
    cp = callbacks.ModelCheckpoint(str(path), save_best_only=True, save_weights_only=True)
    with pytest.raises(OSError, match="disk full"):
        fit(model, [cp], losses(1.0, 0.5))
    assert read(path) == "weights of epoch 0\n"
    assert os.listdir(tmp_path) == ["best.weights.h5"]  # no temporary file left behind


def test_checkpoint_save_freq_in_batches(tmp_path):
    model = FakeModel()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.keras"), save_freq=2)
    fit(model, [cp], losses(0.5, 0.4), batches=3)
    # batches counted across epochs: 2nd batch of epoch 1, then 1st and 3rd of epoch 2
    assert sorted(os.listdir(tmp_path)) == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        callbacks.ModelCheckpoint("x.keras", save_freq="batch")


def test_checkpoint_validates_the_file_name():
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        callbacks.ModelCheckpoint("weights.bin", save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        callbacks.ModelCheckpoint("model.weights")
    callbacks.ModelCheckpoint("legacy-{epoch:02d}.hdf5", save_weights_only=True)  # tf.keras-style weights


def test_checkpoint_format_error_names_the_path(tmp_path):
    cp = callbacks.ModelCheckpoint(str(tmp_path / "{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        fit(FakeModel(), [cp], losses(0.5))


def test_checkpoint_missing_monitor_warns_and_saves(tmp_path):
    model = FakeModel()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        fit(model, [cp], [{"loss": 1.0}])
    assert len(model.saved) == 1


def test_checkpoint_verbose_messages(tmp_path, capsys):
    path = str(tmp_path / "m.keras")
    fit(FakeModel(), [callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1)], losses(0.5, 0.6))
    out = capsys.readouterr().out
    assert f"\nEpoch 1: val_loss improved from None to 0.50000, saving model to {path}\n" in out
    assert f"\nEpoch 1: finished saving model to {path}\n" in out
    assert "\nEpoch 2: val_loss did not improve from 0.50000\n" in out


# --- ReduceLROnPlateau -------------------------------------------------------------------------
def test_reduce_lr_on_plateau_factor_and_patience():
    model = FakeModel()
    cb = callbacks.ReduceLROnPlateau(factor=0.5, patience=2)
    history, _ = fit(model, [cb], losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # best at epoch 0; epochs 1, 2 wait -> reduce at 2; epochs 3, 4 wait -> reduce at 4
    # (the logged rate is the one the epoch ran with)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.025)


def test_reduce_lr_on_plateau_min_delta_and_improvement():
    model = FakeModel()
    cb = callbacks.ReduceLROnPlateau(factor=0.1, patience=1, min_delta=0.05)
    fit(model, [cb], losses(1.0, 0.9, 0.88, 0.8))
    # 0.9 improves (wait 0); 0.88 is within min_delta -> reduce to 0.01; 0.8 improves over 0.9
    assert model.optimizer.learning_rate == pytest.approx(0.01)


def test_reduce_lr_on_plateau_cooldown():
    model = FakeModel()
    cb = callbacks.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    history, _ = fit(model, [cb], losses(*[1.0] * 7))
    # reduce at the end of epoch 1 (cooldown counter 2); epoch 2 counts the cooldown down to 1
    # and waits; epoch 3 counts it to 0, is out of cooldown, waits 1 -> reduce; and so on.
    # The logged rate is the one the epoch ran with.
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
    model = FakeModel()
    history, _ = fit(model, [callbacks.ReduceLROnPlateau(factor=0.5, patience=1)], losses(*[1.0] * 4))
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])  # no cooldown


def test_reduce_lr_on_plateau_min_lr(capsys):
    model = FakeModel()
    cb = callbacks.ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.005, verbose=1)
    history, _ = fit(model, [cb], losses(*[1.0] * 5))
    assert model.optimizer.learning_rate == pytest.approx(0.005)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.01, 0.005, 0.005])
    out = capsys.readouterr().out
    assert out.count("ReduceLROnPlateau reducing learning rate to") == 2
    assert "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.010000000000000002.\n" in out


def test_reduce_lr_on_plateau_errors_and_warnings():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss")
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on metric `val_loss` which is "
                                         "not available. Available metrics are: loss,learning_rate."):
        fit(FakeModel(), [cb], [{"loss": 1.0}])


# --- LearningRateScheduler ---------------------------------------------------------------------
def test_learning_rate_scheduler_sets_the_rate_at_epoch_begin(capsys):
    model = FakeModel()
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5, verbose=1)
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))
    history, _ = fit(model, [sched, spy], [{"loss": 1.0}] * 4)
    assert seen == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert "\nEpoch 3: LearningRateScheduler setting learning rate to 0.05.\n" in capsys.readouterr().out


def test_learning_rate_scheduler_one_argument_schedule_and_type_check():
    model = FakeModel()
    fit(model, [callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], [{"loss": 1.0}] * 3)
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    fit(model, [callbacks.LearningRateScheduler(lambda epoch, lr: np.float32(0.5))], [{"loss": 1.0}])
    assert model.optimizer.learning_rate == 0.5
    with pytest.raises(ValueError, match="should be a float. Got: 'fast'"):
        fit(model, [callbacks.LearningRateScheduler(lambda epoch, lr: "fast")], [{"loss": 1.0}])


# --- CSVLogger ---------------------------------------------------------------------------------
def test_csv_logger_contents(tmp_path):
    path = tmp_path / "log.csv"
    fit(FakeModel(), [callbacks.CSVLogger(str(path))],
        [{"loss": 0.5, "accuracy": 0.7, "val_loss": 0.6, "val_accuracy": 0.65},
         {"loss": 0.25, "accuracy": 0.8, "val_loss": 0.3, "val_accuracy": 0.75}])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
                    ["0", "0.7", "0.5", "0.65", "0.6"],
                    ["1", "0.8", "0.25", "0.75", "0.3"]]
    assert read(path).count("\n") == 3


def test_csv_logger_append_and_missing_validation(tmp_path):
    path = tmp_path / "log.csv"
    fit(FakeModel(), [callbacks.CSVLogger(str(path), separator=";")], [{"loss": 0.5}])
    fit(FakeModel(), [callbacks.CSVLogger(str(path), separator=";", append=True)], [{"loss": 0.4}, {"loss": 0.3}])
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    # no val_* key in the first epoch: a val_ column for each key, filled with NA
    assert rows == [["epoch", "loss", "val_loss"], ["0", "0.5", "NA"], ["0", "0.4", "NA"], ["1", "0.3", "NA"]]
    # append=False starts over
    fit(FakeModel(), [callbacks.CSVLogger(str(path))], [{"loss": 0.1}])
    with open(path, newline="") as f:
        assert list(csv.reader(f)) == [["epoch", "loss", "val_loss"], ["0", "0.1", "NA"]]


def test_csv_logger_writes_arrays_and_flushes_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    logger = callbacks.CSVLogger(str(path))
    logger.set_model(FakeModel())
    logger.on_train_begin()
    try:
        logger.on_epoch_end(0, {"loss": 0.5, "per_class": np.array([1, 2])})
        with open(path, newline="") as f:  # readable before training ends
            rows = list(csv.reader(f))
    finally:
        logger.on_train_end()
    assert rows[1] == ["0", "0.5", '"[1, 2]"', "NA", "NA"]  # Keras quotes iterables itself
    assert logger.csv_file.closed


# --- TerminateOnNaN ----------------------------------------------------------------------------
def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    model = FakeModel()
    values = {(0, 0): 1.0, (0, 1): 0.5, (0, 2): float("nan"), (0, 3): 0.1}
    _, ran = fit(model, [callbacks.TerminateOnNaN()], [{"loss": 1.0}, {"loss": 1.0}], batches=4,
                 batch_logs=lambda e, b: {"loss": values[(e, b)]})
    assert ran == 1 and model.stop_training
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"
    model = FakeModel()
    _, ran = fit(model, [callbacks.TerminateOnNaN()], [{"loss": 1.0}], batches=2,
                 batch_logs=lambda e, b: {"loss": math.inf if b else 1.0})
    assert model.stop_training


def test_terminate_on_nan_raise_error():
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        fit(FakeModel(), [callbacks.TerminateOnNaN(raise_error=True)], [{"loss": 1.0}],
            batch_logs=lambda e, b: {"loss": float("nan")})


# --- ProgbarLogger and Progbar -----------------------------------------------------------------
EPOCHS = [{"accuracy": 0.91, "loss": 0.24, "val_accuracy": 0.88, "val_loss": 0.3},
          {"accuracy": 0.95, "loss": 0.12, "val_accuracy": 0.9, "val_loss": 0.25}]


def batch_logs(epoch, batch):
    return {"loss": 1.0 / (batch + 1), "accuracy": 0.5}


def test_progbar_logger_verbose_1(capsys):
    fit(FakeModel(), [], EPOCHS, batches=32, batch_logs=batch_logs, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    bar = "━" * 20
    assert re.fullmatch(rf"32/32 {bar} \d+s \d+(us|ms|s)/step - accuracy: 0\.9100 - loss: 0\.2400 - "
                        r"val_accuracy: 0\.8800 - val_loss: 0\.3000", lines[1]), lines[1]
    assert re.fullmatch(rf"32/32 {bar} \d+s \d+(us|ms|s)/step - accuracy: 0\.9500 - loss: 0\.1200 - "
                        r"val_accuracy: 0\.9000 - val_loss: 0\.2500", lines[3]), lines[3]


def test_progbar_logger_verbose_2(capsys):
    fit(FakeModel(), [], EPOCHS, batches=32, batch_logs=batch_logs, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and len(lines) == 4
    assert re.fullmatch(r"32/32 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.9100 - loss: 0\.2400 - "
                        r"val_accuracy: 0\.8800 - val_loss: 0\.3000", lines[1]), lines[1]


def test_progbar_logger_verbose_0_and_single_epoch(capsys):
    fit(FakeModel(), [], EPOCHS, batches=4, verbose=0)
    assert capsys.readouterr().out == ""
    fit(FakeModel(), [], EPOCHS[:1], batches=4, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch" not in out and out.startswith("4/4 - ")  # one epoch: no header, as Keras


def test_progbar_logger_evaluate_and_predict(capsys):
    cl = callbacks.CallbackList(None, add_progbar=True, model=FakeModel(), verbose=1, epochs=1, steps=3)
    cl.on_test_begin()
    for b in range(3):
        cl.on_test_batch_end(b, {"loss": 1.0})
    cl.on_test_end({"loss": 0.5})
    cl.on_predict_begin()
    for b in range(3):
        cl.on_predict_batch_end(b, {"outputs": np.zeros(3)})
    cl.on_predict_end()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.5000", lines[0]), lines
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step", lines[1]), lines


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_progbar_live_bar_on_a_terminal(monkeypatch):
    out = TTY()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progbar(32, verbose=1, interval=0, stateless_metrics=set())
    bar.update(12, [("accuracy", 0.91), ("loss", 0.24)])
    bar.update(32, [("accuracy", 0.93), ("loss", 0.2)])
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    first, second = text.split("\r")[1:]
    assert re.fullmatch(r"12/32 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.9100 - loss: 0\.2400 *", first), first
    assert re.fullmatch(r"32/32 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.9300 - loss: 0\.2000 *\n", second)
    assert "\x1b[32m" + "━" * 7 in out.getvalue()  # the done part (12/32 of 20) in green, as Keras


def test_progbar_averages_stateless_metrics(capsys):
    bar = Progbar(4, verbose=2)
    bar.update(1, [("loss", 1.0), ("lr", 0.1)])
    bar.update(3, [("loss", 2.0), ("lr", 0.2)])  # covers steps 2-3: weight 2
    bar.update(4)
    assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step - loss: 1\.6667 - lr: 0\.1667\n", capsys.readouterr().out)
    bar = Progbar(2, verbose=2, stateful_metrics=["lr"])
    bar.update(1, [("loss", 1.0), ("lr", 0.1)])
    bar.update(2, [("lr", 0.2)])
    assert capsys.readouterr().out.endswith(" - loss: 1.0000 - lr: 0.2000\n")
    with pytest.raises(ValueError, match="Only one of"):
        Progbar(2, stateful_metrics=[], stateless_metrics=[])


def test_progbar_unknown_target_small_values_and_silence(capsys):
    bar = Progbar(None, verbose=1)
    bar.update(5, [("loss", 1e-5)], finalize=True)
    assert re.fullmatch(r" {6}5/Unknown \d+s \d+(us|ms|s)/step - loss: 1\.0000e-05\n", capsys.readouterr().out)
    bar = Progbar(3, verbose=0)
    for i in range(1, 4):
        bar.update(i, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_progbar_predict_style_usage(capsys):
    # model.predict: Progbar(n_batches, verbose=1).update(i + 1) per batch
    bar = Progbar(5, verbose=1)
    for i in range(5):
        bar.update(i + 1)
    assert re.fullmatch(r"5/5 ━{20} \d+s \d+(us|ms|s)/step\n", capsys.readouterr().out)


def test_format_time_per_unit():
    assert progbar_mod.format_time_per_unit(2.4, "step") == " 2s/step"
    assert progbar_mod.format_time_per_unit(0.0031, "step") == " 3ms/step"
    assert progbar_mod.format_time_per_unit(0.00002, "sample") == " 20us/sample"
    assert progbar_mod.format_time_per_unit(0, "step") == " 0s/step"
