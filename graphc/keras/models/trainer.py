"""The Keras training API of Model: compile, fit, evaluate, train_on_batch, test_on_batch."""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from . import data_adapter
from . import training as training_mod


class Trainer:
    stop_training = False
    history = None

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        if not self.built:
            self._compile_args = (optimizer, loss, loss_weights, metrics, weighted_metrics)
            self._compile_cfg = None
            return
        self._compile_cfg = training_mod.CompileConfig(self, optimizer, loss, loss_weights, metrics, weighted_metrics)
        self.optimizer = self._compile_cfg.optimizer
        self._train_programs, self._test_programs = {}, {}
        self.compiled = True

    def _require_compiled(self, x):
        self._ensure_built(x)
        if getattr(self, "_compile_cfg", None) is None:
            if getattr(self, "_compile_args", None) is None:
                raise RuntimeError("You must call `compile()` before using the model for training or evaluation.")
            self.compile(*self._compile_args)
        return self._compile_cfg

    # --- metrics -------------------------------------------------------------------------
    def _reset_metrics(self):
        from ..metrics import Mean
        if getattr(self, "_trackers_cfg", None) is self._compile_cfg:  # reuse the trackers (as Keras does)
            self._loss_tracker.reset_state()
            for t in self._output_loss_trackers:
                t.reset_state()
        else:
            self._loss_tracker = Mean(name="loss")
            self._output_loss_trackers = [Mean(name=f"{n}_loss") for n in self._compile_cfg.output_names]
            self._trackers_cfg = self._compile_cfg
        for ms in self._compile_cfg.metrics:
            for m in ms:
                m.reset_state()

    def _metrics_ready(self):
        """Compiled, with metrics resolved (a model compiled lazily gets them from its first batch)."""
        cfg = getattr(self, "_compile_cfg", None)
        return cfg is not None and cfg.metrics is not None

    def _update_metrics(self, loss, out_losses, ys, preds, sws, n):
        self._loss_tracker.update_state(loss, sample_weight=n)
        for tracker, value in zip(self._output_loss_trackers, out_losses):
            tracker.update_state(value, sample_weight=n)
        for ms, y, p in zip(self._compile_cfg.metrics, ys, preds):
            for m in ms:
                m.update_state(y, p)

    def _logs(self):
        cfg = self._compile_cfg
        logs = {"loss": float(self._loss_tracker.result())}
        multi = len(cfg.output_names) > 1
        if multi:
            for t in self._output_loss_trackers:
                logs[t.name] = float(t.result())
        for name, ms in zip(cfg.output_names, cfg.metrics):
            for m in ms:
                logs[f"{name}_{m.name}" if multi else m.name] = float(m.result())
        return logs

    @property
    def metrics_names(self):
        return list(self._logs()) if getattr(self, "_loss_tracker", None) is not None else ["loss"]

    # --- one batch -----------------------------------------------------------------------
    def _run_batch(self, xs, ys, sws, training):
        prog, _ = training_step_program(self, ys, training)
        if training:
            self.optimizer._sync_lr()
        loss, out_losses, preds = prog.run(xs, ys, sws)
        if training:
            self.optimizer.iterations.assign(self.optimizer.iterations.value + 1)
        self._update_metrics(loss, out_losses, ys, preds, sws, len(xs[0]))

    def _prepare(self, x, y, sample_weight=None, class_weight=None):
        self._require_compiled(x)
        xs = self._standardize_inputs(x)
        if y is None:
            raise ValueError("Training and evaluation need targets `y`")
        ys = training_mod.standardize_y(self, y)
        n = {len(a) for a in xs + ys}
        if len(n) != 1:
            raise ShapeError(f"Model {self.name!r}: inputs and targets must have the same number of samples, "
                             f"received {[len(a) for a in xs]} inputs and {[len(a) for a in ys]} targets")
        sws = training_mod.sample_weights(self, ys, sample_weight, class_weight)
        training_mod.resolve_metrics(self._compile_cfg, ys)
        return xs, ys, sws

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        xs, ys, sws = self._prepare(x, y, sample_weight, class_weight)
        self._reset_metrics()
        self._run_batch(xs, ys, sws, training=True)
        return self._format(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        xs, ys, sws = self._prepare(x, y, sample_weight)
        self._reset_metrics()
        self._run_batch(xs, ys, sws, training=False)
        return self._format(self._logs(), return_dict)

    @staticmethod
    def _format(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # --- loops ---------------------------------------------------------------------------
    # Arrays and batch sources (PyDataset, generator, iterator) run the same loops: each gives an
    # iterator of prepared (xs, ys, sws) batches per epoch.
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        from ..callbacks import CallbackList
        batch_size = batch_size or 32
        from_source = data_adapter.is_batch_source(x)
        if from_source:
            self._no_arrays_beside_source(y, sample_weight)
            if validation_split:
                raise ValueError("`validation_split` is only supported for array inputs; pass `validation_data`")
            source = data_adapter.BatchSource(x, steps_per_epoch, shuffle=shuffle)
            steps = source.num_batches
            if validation_data is not None:
                validation_data = self._validation(validation_data, validation_steps)

            def batches():
                return self._prepared(source, class_weight)
        else:
            xs, ys, sws = self._prepare(x, y, sample_weight, class_weight)
            if validation_split and validation_data is None:
                n_val = int(len(xs[0]) * validation_split)
                if n_val == 0:
                    raise ValueError(f"validation_split={validation_split} leaves no validation samples "
                                     f"out of {len(xs[0])}")
                cut = len(xs[0]) - n_val  # Keras takes the last samples, before any shuffling
                validation_data = ([a[cut:] for a in xs], [a[cut:] for a in ys], [w[cut:] for w in sws])
                xs, ys, sws = [a[:cut] for a in xs], [a[:cut] for a in ys], [w[:cut] for w in sws]
            elif validation_data is not None:
                validation_data = self._validation(validation_data, validation_steps)
            n = len(xs[0])
            steps = steps_per_epoch or -(-n // batch_size)

            def batches():
                order = np.random.permutation(n) if shuffle else np.arange(n)
                for step in range(steps):
                    idx = order[(step * batch_size) % n:][:batch_size]
                    if len(idx) == 0:
                        break
                    yield [a[idx] for a in xs], [a[idx] for a in ys], [w[idx] for w in sws]
        verbose = 1 if verbose == "auto" else verbose
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=epochs, steps=steps)
        self.stop_training = False
        cbs.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            reset = self._metrics_ready()
            if reset:  # Keras resets before on_epoch_begin; lazily compiled: after the first batch is prepared
                self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            seen = 0
            for step, (bxs, bys, bsws) in enumerate(batches()):
                if not reset:
                    self._reset_metrics()
                    reset = True
                cbs.on_train_batch_begin(step)
                self._run_batch(bxs, bys, bsws, training=True)
                seen += 1
                logs = self._logs()
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            if seen == 0 and from_source:
                raise ValueError("The dataset, generator or PyDataset passed to fit yielded no batches"
                                 + (" (an iterator is consumed: pass steps_per_epoch so every epoch has batches)"
                                    if epoch > initial_epoch else ""))
            logs = self._logs()
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val = self._evaluate_batches(self._batches_of(validation_data, validation_batch_size or batch_size))
                logs.update({f"val_{k}": v for k, v in val.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    @staticmethod
    def _no_arrays_beside_source(y, sample_weight):
        for name, v in (("y", y), ("sample_weight", sample_weight)):
            if v is not None:
                raise ValueError(f"`{name}` argument is not supported when using a dataset, generator or PyDataset "
                                 f"as input: the batches carry the targets and sample weights")

    def _prepared(self, source, class_weight=None):
        """The batches of one epoch of ``source``, prepared (validated, compiled on first use)."""
        for bx, by, bsw in source.epoch():
            yield self._prepare(bx, by, bsw, class_weight)

    def _validation(self, validation_data, validation_steps):
        """Validation data as a BatchSource, or prepared (xs, ys, sws) arrays."""
        if data_adapter.is_batch_source(validation_data):
            return data_adapter.BatchSource(validation_data, validation_steps)
        vx, vy, *vw = validation_data
        return self._prepare(vx, vy, vw[0] if vw else None)

    def _batches_of(self, data, batch_size):
        """Prepared batches of a BatchSource, or of (xs, ys, sws) arrays in order."""
        if isinstance(data, data_adapter.BatchSource):
            return self._prepared(data)
        xs, ys, sws = data
        return (([a[sl] for a in xs], [a[sl] for a in ys], [w[sl] for w in sws])
                for sl in (slice(i, i + batch_size) for i in range(0, len(xs[0]), batch_size)))

    def _evaluate_batches(self, batches, cbs=None, source=False):
        """Test steps over prepared batches; metrics reset before the first (after a lazy compile)."""
        reset = self._metrics_ready()
        if reset:
            self._reset_metrics()
        first = True
        for step, (xs, ys, sws) in enumerate(batches):
            if not reset:  # compiled lazily by the first batch's preparation
                self._reset_metrics()
                reset = True
            first = False
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            self._run_batch(xs, ys, sws, training=False)
            if cbs is not None:
                cbs.on_test_batch_end(step, self._logs())
        if first and source:
            raise ValueError("The dataset, generator or PyDataset passed to evaluate yielded no batches")
        return self._logs()

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        from ..callbacks import CallbackList
        source = data_adapter.is_batch_source(x)
        if source:
            self._no_arrays_beside_source(y, sample_weight)
            data = data_adapter.BatchSource(x, steps)
            n_steps = data.num_batches
        else:
            data = self._prepare(x, y, sample_weight)
            n_steps = -(-len(data[0][0]) // (batch_size or 32))
        verbose = 1 if verbose == "auto" else verbose
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=n_steps)
        cbs.on_test_begin()
        logs = self._evaluate_batches(self._batches_of(data, batch_size or 32), cbs, source=source)
        cbs.on_test_end(logs)
        return self._format(logs, return_dict)

def training_step_program(model, ys, training):
    return training_mod.step_program(model, ys, training)
