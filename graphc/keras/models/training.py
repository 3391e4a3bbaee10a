"""Training: ``compile`` builds ONE train-step graph (forward + loss + regularization + gradients +
optimizer update, all in generated code); ``fit`` only feeds batches and runs callbacks.

Parameters, optimizer slots and BatchNormalization statistics are buffers that the step
updates in place (``Graph.aliases``); the learning rate is a scalar buffer the optimizer syncs
before each step, so callbacks change it without recompiling. Metrics accumulate in numpy from
the step's outputs.
"""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ...ir import np_dtype
from ...passes.autodiff import autodiff
from ...ops import registry
from ...ops.registry import BROADCAST, ELEMWISE
from ..engine.trace import Tracer


class StepProgram:
    """A compiled train or test step: inputs (x..., y_true..., sample_weight...) -> (loss, per-output losses, y_pred...)."""

    def __init__(self, model, y_sig, training):
        import graphc

        self.n_out = len(model._compile_cfg.losses)
        g, self.n_in = _lower_step(model, y_sig, training)
        self.exe = graphc.compile(g)

    def run(self, xs, ys, sws):
        outs = self.exe.run(list(xs) + list(ys) + list(sws))
        return float(outs[0]), [float(v) for v in outs[1:1 + self.n_out]], outs[1 + self.n_out:]


def _lower_step(model, y_sig, training):
    cfg = model._compile_cfg
    tracer = Tracer(name=f"{model.name}_{'train' if training else 'test'}", training=training)
    tracer.collect_losses = True
    opt = cfg.optimizer
    if training:
        opt.build(model.trainable_weights)
        step_int = tracer.variable(opt.iterations)
        tracer.step_counter = step_int
    x_vals, y_preds = model._trace_forward(tracer, training)
    with tracer.active():
        from .. import ops
        # graph inputs in StepProgram.run's order: x..., y_true..., sample_weight...
        y_trues = [tracer.value(tracer.b.input(f"y_true_{i}", dtype, ("N",) + tuple(shape)))
                   for i, (shape, dtype) in enumerate(y_sig)]
        sws = [tracer.value(tracer.b.input(f"sample_weight_{i}", yp.dtype, ("N",))) for i, yp in enumerate(y_preds)]
        losses = [loss(yt, yp, sample_weight=sw) if loss is not None else None
                  for yt, yp, sw, loss in zip(y_trues, y_preds, sws, cfg.losses)]
        terms = [ops.multiply(l, float(w)) if w != 1 else l
                 for l, w in zip(losses, cfg.loss_weights) if l is not None]
        total = terms[0]
        for t in terms[1:]:
            total = ops.add(total, t)
        for penalty in _regularization(model, tracer):
            total = ops.add(total, penalty)
        updates = list(tracer.updates)
        if training:
            trainable = [v for v in model.trainable_weights if id(v) in tracer._vars]
            grads = autodiff(tracer.b.g, total.name, [tracer._vars[id(v)] for v in trainable])
            pairs = [(v, tracer.value(grads[tracer._vars[id(v)]])) for v in trainable
                     if grads[tracer._vars[id(v)]] is not None]
            if pairs:  # a model without trainable weights still trains its BN statistics (as Keras)
                lr = tracer.variable(opt._lr_var)
                step = ops.add(ops.cast(step_int, total.dtype), 1.0)
                updates += opt.lower_updates(pairs, lr, step)
    g = tracer.b.g
    g.outputs = [total.name] + [l.name for l in losses if l is not None] + [v.name for v in y_preds]
    _alias_updates(tracer, updates)
    return g, len(x_vals)


def _alias_updates(tracer, updates):
    """Each update becomes a value aliased onto its variable's buffer; non-elementwise producers get a copy."""
    g, b = tracer.b.g, tracer.b
    seen = set()
    for var, new in updates:
        if id(var) in seen:
            raise ValueError(f"variable {var.path!r} is updated twice in one step")
        seen.add(id(var))
        old = tracer.variable(var).name
        name = new.name
        producer = g.producer(name)
        opdef = registry.get(producer.op_type, producer.domain) if producer is not None else None
        if (producer is None or opdef.pattern not in (ELEMWISE, BROADCAST) or name in g.aliases
                or g.value(name).role != "intermediate" or name in g.outputs):  # an output keeps its own buffer
            name = b.op("Identity", [name], name=f"update_{var.name}")
        g.aliases[name] = old


def _regularization(model, tracer):
    """Kernel/bias/... regularizer penalties of the variables the forward pass used (Keras's model.losses)."""
    out = []
    for var in model.weights:
        reg = getattr(var, "regularizer", None)
        if reg is not None and id(var) in tracer._vars:
            out.append(reg(tracer.value(tracer._vars[id(var)])))
    out += list(getattr(tracer, "activity_penalties", []))
    return out


# --- the Model methods ---------------------------------------------------------------------
class CompileConfig:
    def __init__(self, model, optimizer, loss, loss_weights, metrics, weighted_metrics):
        from .. import losses as losses_mod
        from .. import metrics as metrics_mod
        from .. import optimizers as optimizers_mod

        self.optimizer = optimizers_mod.get(optimizer)
        out_names = [t._history[0].name for t in model.outputs]
        self.output_names = out_names
        shapes = [t.shape for t in model.outputs]
        it = iter(shapes)
        self.losses = _per_output(loss, out_names, "loss", lambda l: losses_mod.resolve_loss(l, None, next(it)))
        if all(l is None for l in self.losses):
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        self.loss_weights = _per_output(loss_weights, out_names, "loss_weights",
                                        lambda w: 1.0 if w is None else float(w))
        self._raw_metrics = _metrics_per_output(metrics, out_names)
        self._output_shapes = shapes
        self.metrics = None  # resolved at the first batch, from the targets' shapes (as Keras builds them)
        self.metric_args = (loss, loss_weights, metrics, weighted_metrics)


def resolve_metrics(cfg, ys):
    """Keras resolves "accuracy" & co. from the shapes of y_true and y_pred: do it once data is seen."""
    if cfg.metrics is None:
        from .. import metrics as metrics_mod
        cfg.metrics = [[metrics_mod.resolve_metric(m, l, s, y_true_shape=(None,) + y.shape[1:]) for m in ms]
                       for ms, l, s, y in zip(cfg._raw_metrics, cfg.losses, cfg._output_shapes, ys)]
        for ms in cfg.metrics:  # per output: multi-output logs prefix each output's names anyway
            for m, name in zip(ms, metrics_mod.unique_names([m.name for m in ms])):
                m.name = name
    return cfg.metrics


def _per_output(value, names, what, convert):
    """One entry per output from a single value, a list (in output order) or a dict by output name."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {sorted(unknown)}. Only expected the "
                             f"following keys: {names}")
        return [convert(value.get(k)) for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"For a model with {len(names)} output(s), `{what}` must have {len(names)} entries, "
                             f"received {len(value)}: {value!r}")
        return [convert(v) for v in value]
    return [convert(value) for _ in names]


def _metrics_per_output(metrics, names):
    """A flat list applies to every output; a list of lists or a dict gives each output its own."""
    def as_list(m):
        return [] if m is None else list(m) if isinstance(m, (list, tuple)) else [m]
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        return _per_output(metrics, names, "metrics", as_list)
    if len(names) > 1 and isinstance(metrics, (list, tuple)) and all(isinstance(m, (list, tuple, type(None)))
                                                                      for m in metrics):
        return _per_output(list(metrics), names, "metrics", as_list)
    return [as_list(metrics) for _ in names]


def standardize_y(model, y):
    names = model._compile_cfg.output_names
    if isinstance(y, dict):
        return [np.asarray(y[n]) for n in names]
    ys = list(y) if isinstance(y, (list, tuple)) and len(names) > 1 else [y]
    if len(ys) != len(names):
        raise ShapeError(f"Model {model.name!r} has {len(names)} outputs {names}, but {len(ys)} targets were given")
    return [np.asarray(a) for a in ys]


def y_signature(model, ys):
    sig = []
    for yp, a in zip(model.outputs, ys):
        dtype = "int64" if a.dtype.kind in "iub" and a.dtype.kind != "f" and _is_sparse(model, len(sig)) else \
            np_dtype(model.dtype).name
        sig.append((tuple(a.shape[1:]), dtype))
    return tuple(sig)


def _is_sparse(model, i):
    loss = model._compile_cfg.losses[i]
    return "sparse" in type(loss).__name__.lower() or "sparse" in str(getattr(loss, "name", "")).lower()


def step_program(model, ys, training):
    sig = y_signature(model, ys)
    cache = model._train_programs if training else model._test_programs
    prog = cache.get(sig)
    if prog is None:
        prog = cache[sig] = StepProgram(model, sig, training)
    return prog, sig


def sample_weights(model, ys, sample_weight, class_weight):
    n = len(ys[0])
    sws = []
    base = [None] * len(ys)
    if sample_weight is not None:
        sw_list = sample_weight if isinstance(sample_weight, (list, tuple)) and len(ys) > 1 else [sample_weight]
        if isinstance(sample_weight, dict):
            sw_list = [sample_weight.get(k) for k in model._compile_cfg.output_names]
        base = [None if s is None else np.asarray(s, dtype=np.float64).reshape(n, -1)[:, 0] for s in sw_list]
    for i, y in enumerate(ys):
        w = np.ones(n) if base[i] is None else base[i].copy()
        if class_weight is not None:
            labels = y.argmax(-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(n, -1)[:, 0].round().astype(int)
            w = w * np.array([class_weight.get(int(c), 1.0) for c in labels])
        sws.append(w.astype(model.dtype))
    return sws


