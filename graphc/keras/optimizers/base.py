"""The ``Optimizer`` base class: state variables, learning rate, and the traced update pipeline.

An optimizer never computes numbers itself during training. ``lower_updates`` runs inside the
trace of the training graph and emits IR ops (through ``keras.ops``) for Keras 3's ``apply``:

    unscale (loss_scale_factor) -> clip (clipnorm | global_clipnorm | clipvalue)
    -> weight decay  w -= w * weight_decay * lr          (decoupled, before the update)
    -> update_step   (the optimizer's formula; slots and the weight)
    -> EMA of the weights (use_ema)  -> the weight's constraint

It returns ``(Variable, new value)`` pairs; the training-graph builder aliases each new value
onto its variable's buffer, so parameters and slots are updated in place by native code.
``iterations`` is incremented by the caller after each step (``iterations`` inside the step is
the number of completed steps; ``step = iterations + 1``), as Keras's ``apply`` does last.

The learning rate lives in a scalar buffer (``_lr_var``, ``keras.config.floatx()`` like Keras's
learning-rate variable) that the program reads; ``_sync_lr()`` writes the current value (a
schedule's value at ``iterations``) into it before each step, so callbacks and schedules never
cause a recompilation.
"""
from __future__ import annotations

import numbers
import re
import warnings

import numpy as np

from ...errors import UnsupportedOpError
from .. import config as _config
from ..engine import naming
from ..engine.variable import Variable
from . import schedules as _schedules


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool) or \
        (isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf")


class LearningRateValue(float):
    """The current learning rate: a float that also answers Keras's learning-rate Variable API
    (``.numpy()``, ``.assign(value)``), so ``optimizer.learning_rate.numpy()`` works as in Keras."""

    def __new__(cls, value, optimizer):
        obj = super().__new__(cls, value)
        obj._optimizer = optimizer
        return obj

    def numpy(self):
        return np.asarray(float(self), dtype=self._optimizer._lr_var.dtype)

    def assign(self, value):
        self._optimizer.learning_rate = value
        return self._optimizer.learning_rate

    def __reduce__(self):
        return float, (float(self),)


class Optimizer:
    """Base class of graphc's Keras optimizers.

    Subclasses define ``_slot_names`` (the per-variable state, in Keras's order),
    optionally ``_slot_initial_value(slot)``, and ``update_step(grad, param, variable, lr, step)``
    which returns ``(new_param, {slot_name: new_slot_value})`` as traced values.
    """

    _slot_names: tuple = ()

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name if name is not None else naming.auto_name(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps:
            if not gradient_accumulation_steps >= 2:
                raise ValueError(f"`gradient_accumulation_steps` must be an integer >= 2. Received: "
                                 f"gradient_accumulation_steps={gradient_accumulation_steps}")
            raise UnsupportedOpError(f"{type(self).__name__}: gradient_accumulation_steps is not supported by "
                                     f"graphc yet (received {gradient_accumulation_steps}); use a larger batch size")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError(f"`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
            if ema_overwrite_frequency:
                raise UnsupportedOpError(f"{type(self).__name__}: ema_overwrite_frequency is not supported by "
                                         f"graphc yet (received {ema_overwrite_frequency}); the averages are "
                                         f"written into the weights by finalize_variable_values() at the end "
                                         f"of fit()")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.built = False
        self._variables: list = []
        self._trainable_variables: list = []
        self._trainable_variables_indices: dict = {}
        self._slots: dict = {}  # id(variable) -> {slot name: Variable}
        self._averages: dict = {}  # id(variable) -> EMA Variable
        self._iterations = Variable(np.int64(0), shape=(), dtype="int64", trainable=False, name="iteration",
                                    path=f"{self.name}/iteration")
        self._variables.append(self._iterations)
        self._lr_var = Variable(0.0, shape=(), dtype=_config.floatx(), trainable=False, name="learning_rate",
                                path=f"{self.name}/learning_rate")
        self._learning_rate = None
        self._lr_value = None
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            self._lr_value = self._check_lr(learning_rate)
            self._learning_rate = self._lr_var
            self._variables.append(self._lr_var)
        self._sync_lr()

    # --- learning rate ---------------------------------------------------------------------
    @staticmethod
    def _check_lr(learning_rate):
        if not _is_number(learning_rate):
            raise ValueError(f"Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or "
                             f"a callable (that takes in the current iteration value and returns the corresponding "
                             f"learning rate value). Received instead: learning_rate={learning_rate!r}")
        return float(learning_rate)

    def _uses_lr_variable(self):
        return self._learning_rate is self._lr_var

    @property
    def learning_rate(self):
        """The current learning rate as a float (a schedule's value at ``iterations``)."""
        return LearningRateValue(self._get_current_learning_rate(), self)

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate):
            if self._uses_lr_variable():
                self._variables = [v for v in self._variables if v is not self._lr_var]
            self._learning_rate = learning_rate
            self._lr_value = None
        else:
            if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
                raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                                "`learning_rate` constructor argument, hence its learning rate is not settable. If "
                                "you need the learning rate to be settable, you should instantiate the optimizer "
                                "with a float `learning_rate` argument.")
            value = self._check_lr(learning_rate)
            if not self._uses_lr_variable():  # a callable before: the variable comes back (Keras keeps it)
                self._learning_rate = self._lr_var
                self._variables.insert(1, self._lr_var)
            self._lr_value = value
        self._sync_lr()

    def _get_current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return float(lr(int(self._iterations.value)))
        if lr is self._lr_var:
            return self._lr_value
        return float(np.asarray(lr()))

    def _sync_lr(self):
        """Write the current learning rate into the buffer the compiled train step reads."""
        self._lr_var.value[...] = self._get_current_learning_rate()

    # --- variables ---------------------------------------------------------------------------
    @property
    def iterations(self):
        """The number of completed training steps: an int64 scalar Variable."""
        return self._iterations

    @property
    def variables(self):
        """iterations, learning_rate (unless a schedule or callable), then the optimizer's state in
        Keras's order (per variable, per slot)."""
        return self._variables[:]

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        """A new non-trainable state Variable ``{optimizer name}/{name}``, tracked in ``variables``."""
        dtype = dtype or _config.floatx()
        if isinstance(initializer, str):
            from .. import initializers
            initializer = initializers.get(initializer)
        if _is_number(initializer):
            var = Variable(np.full(tuple(shape), initializer, dtype=dtype), dtype=dtype, trainable=False,
                           name=name, path=f"{self.name}/{name}")
        else:
            var = Variable(initializer, shape=tuple(shape), dtype=dtype, trainable=False, name=name,
                           path=f"{self.name}/{name}")
        self._variables.append(var)
        return var

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A state Variable shaped like ``reference_variable``, named like Keras:
        ``{optimizer}/{reference path with '/' -> '_'}_{name}``."""
        name = name or "var"
        ref = getattr(reference_variable, "path", None) or str(reference_variable.name).replace(":", "_")
        return self.add_variable(reference_variable.shape, initializer=initializer, dtype=reference_variable.dtype,
                                 name=f"{ref.replace('/', '_')}_{name}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One state Variable per trainable variable and name, interleaved per variable as Keras
        does; returns a list (one name) or a tuple of lists."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        out = tuple([] for _ in names)
        for var in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                out[i].append(self.add_variable_from_reference(var, name=n, initializer=init))
        return out[0] if isinstance(name, str) else out

    def _slot_initial_value(self, slot):
        return 0.0

    def _build_slots(self, variables):
        """Create the per-variable state of ``variables`` (all new) in Keras's order."""
        if not self._slot_names:
            return
        made = self.add_optimizer_variables(variables, list(self._slot_names),
                                            [self._slot_initial_value(s) for s in self._slot_names])
        for i, var in enumerate(variables):
            self._slots[id(var)] = {s: made[k][i] for k, s in enumerate(self._slot_names)}

    def _build_extra(self, variables, first):
        """Hook for state that is not per variable (Nadam's momentum-cache product)."""

    def build(self, variables):
        """Create the optimizer state of ``variables``. Building again with known variables is a
        no-op; new variables are appended (their state after the existing state)."""
        variables = list(variables)
        new = [v for v in variables if id(v) not in self._trainable_variables_indices]
        first = not self.built
        if not new and not first:
            return
        for v in new:
            self._trainable_variables_indices[id(v)] = len(self._trainable_variables)
            self._trainable_variables.append(v)
            self._slots[id(v)] = {}
        if self.use_ema:
            for v, avg in zip(new, self.add_optimizer_variables(new, "average")):
                self._averages[id(v)] = avg
        self._build_slots(new)
        self._build_extra(variables, first)
        self.built = True

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[id(variable)]

    def slot(self, variable, name):
        """The state Variable ``name`` ("momentum", "velocity", ...) of ``variable``."""
        return self._slots[id(variable)][name]

    def set_weights(self, weights):
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                             "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        if len(weights) != len(self._variables):
            raise ValueError(f"Optimizer {self.name!r} has {len(self._variables)} variables, received "
                             f"{len(weights)} weights")
        for var, w in zip(self._variables, weights):
            w = np.asarray(w)
            if var.shape != w.shape:
                raise ValueError(f"Optimizer variable {var.path!r} has shape {var.shape} not compatible with "
                                 f"provided weight shape {w.shape}.")
            var.assign(w)
        if self._uses_lr_variable():
            self._lr_value = float(self._lr_var.value)

    def get_weights(self):
        return [v.numpy() for v in self._variables]

    # --- weight decay --------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables (by object, or by a substring/regex of their name) from weight decay."""
        self._exclude_from_weight_decay = {id(v) for v in (var_list or [])}
        self._exclude_from_weight_decay_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in getattr(self, "_exclude_from_weight_decay", set()):
            return False
        pattern = getattr(self, "_exclude_from_weight_decay_pattern", None)
        return not (pattern is not None and re.search(pattern, variable.name) is not None)

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` (the gradients are divided by it again before the update)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    # --- the traced update ---------------------------------------------------------------------
    def lower_updates(self, params_and_grads, lr, step):
        """Emit the update of every parameter and its optimizer state into the active trace.

        ``params_and_grads``: ``(Variable, grad SymbolicValue or None)``; ``lr``: the scalar learning
        rate value; ``step``: ``iterations + 1`` as a float scalar. Returns ``[(Variable, new
        value)]`` for every parameter and every state variable that changes (not ``iterations``).
        """
        from .. import ops

        pairs = [(v, g) for v, g in params_and_grads]
        missing = [v.path for v, g in pairs if g is None]
        pairs = [(v, g) for v, g in pairs if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
                          f"`model.compile()`, did you forget to provide a `loss` argument?")
        variables = [v for v, _ in pairs]
        self.build(variables)
        grads = [ops.cast(ops.convert_to_tensor(g), v.dtype) for v, g in pairs]
        if self.loss_scale_factor is not None:
            grads = [ops.divide(g, float(self.loss_scale_factor)) for g in grads]
        grads = self._clip_gradients(grads)

        casts: dict = {}

        def in_dtype(x, dtype):
            key = (id(x), dtype)
            if key not in casts:
                casts[key] = ops.cast(ops.convert_to_tensor(x), dtype)
            return casts[key]

        updates = self._update_extra(step)
        lrs = {v.dtype: in_dtype(lr, v.dtype) for v in variables}
        steps = {v.dtype: in_dtype(step, v.dtype) for v in variables}
        new_params = []
        for var, grad in zip(variables, grads):
            lr_v = lrs[var.dtype]
            param = ops.convert_to_tensor(var)
            if self.weight_decay is not None and self._use_weight_decay(var):
                param = ops.subtract(param, ops.multiply(ops.multiply(param, float(self.weight_decay)), lr_v))
            new_param, new_slots = self.update_step(grad, param, var, lr_v, steps[var.dtype])
            for slot_name, value in new_slots.items():
                updates.append((self._slots[id(var)][slot_name], value))
            new_params.append(new_param)
        if self.use_ema:
            for var, new_param in zip(variables, new_params):
                avg = self._averages[id(var)]
                # momentum is 0 on the first step (iterations == 0, i.e. step == 1): the average starts at w
                not_first = ops.minimum(ops.subtract(steps[var.dtype], 1.0), 1.0)
                momentum = ops.multiply(not_first, float(self.ema_momentum))
                updates.append((avg, ops.add(ops.multiply(momentum, avg),
                                             ops.multiply(ops.subtract(1.0, momentum), new_param))))
        for var, new_param in zip(variables, new_params):
            updates.append((var, self._apply_constraint(var, new_param)))
        return updates

    def _update_extra(self, step):
        """Updates of state that is not per variable, emitted before the per-variable updates."""
        return []

    def update_step(self, gradient, param, variable, learning_rate, step):
        """One variable's update: returns ``(new_param, {slot: new value})`` (traced)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    @staticmethod
    def _apply_constraint(var, value):
        constraint = getattr(var, "constraint", None)
        if constraint is None:
            return value
        from ..engine.trace import SymbolicValue
        try:
            out = constraint(value)
        except Exception as e:  # a numpy-only custom constraint
            raise UnsupportedOpError(f"constraint {constraint!r} of variable {var.path!r} cannot be applied inside "
                                     f"the compiled train step: it must be written with keras.ops "
                                     f"({type(e).__name__}: {e})") from e
        if not isinstance(out, SymbolicValue):
            raise UnsupportedOpError(f"constraint {constraint!r} of variable {var.path!r} returned "
                                     f"{type(out).__name__}, expected a traced tensor: write it with keras.ops")
        return out

    # --- gradient clipping -----------------------------------------------------------------------
    def _clip_gradients(self, grads):
        from .. import ops
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            v = float(self.clipvalue)
            return [ops.clip(g, -v, v) for g in grads]
        return grads

    def _clip_by_norm(self, values):
        """``values * clipnorm / max(||values||_2, clipnorm)`` (Keras's form)."""
        from .. import ops
        l2norm = ops.sqrt(ops.sum(ops.square(values)))
        return ops.divide(ops.multiply(values, float(self.clipnorm)), ops.maximum(l2norm, float(self.clipnorm)))

    # --- eager application (custom training loops) ------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(grad, variable)]`` now (numpy gradients); returns ``iterations``."""
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Update ``trainable_variables`` with numpy ``grads`` (Keras's ``optimizer.apply``).

        The update is the same traced program as in ``fit`` (compiled once per set of variables
        and gradient dtypes, then reused); ``iterations`` is incremented afterwards."""
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built on "
                                 "a list of variables. Call `optimizer.build(trainable_variables)` first.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"Received {len(grads)} gradients for {len(trainable_variables)} variables")
        pairs = [(v, None if g is None else np.asarray(g, dtype=v.dtype)) for g, v in zip(grads, trainable_variables)]
        for v, g in pairs:
            if g is not None and g.shape != v.shape:
                raise ValueError(f"Gradient of variable {v.path!r}: expected shape {v.shape}, received {g.shape}")
        self.build([v for v, _ in pairs])
        key = tuple((id(v), g is None) for v, g in pairs)
        cache = self.__dict__.setdefault("_apply_programs", {})
        if key not in cache:
            cache[key] = self._compile_apply(pairs)
        exe, targets = cache[key]
        self._sync_lr()
        outs = exe.run([g for _, g in pairs if g is not None])
        for var, new in zip(targets, outs):
            var.assign(new)
        self._iterations.assign(self._iterations.value + 1)

    def _compile_apply(self, pairs):
        import graphc
        from .. import ops
        from ..engine.trace import Tracer

        tracer = Tracer(name=f"{self.name}_apply")
        with tracer.active():
            sym = [(v, None if g is None else tracer.value(tracer.b.input(f"grad_{i}", v.dtype, v.shape)))
                   for i, (v, g) in enumerate(pairs)]
            lr = tracer.variable(self._lr_var)
            dtype = next(v.dtype for v, g in pairs if g is not None)
            step = ops.add(ops.cast(tracer.variable(self._iterations), dtype), 1.0)
            updates = self.lower_updates(sym, lr, step)
        tracer.b.g.outputs = [new.name for _, new in updates]
        return graphc.compile(tracer.b.g), [var for var, _ in updates]

    # --- EMA ---------------------------------------------------------------------------------------
    def finalize_variable_values(self, var_list):
        """With ``use_ema``, overwrite the model's variables with their moving averages."""
        if not self.use_ema:
            return
        for var in var_list:
            avg = self._averages.get(id(var))
            if avg is not None:
                var.assign(avg.value)

    # --- config ------------------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            learning_rate = _schedules.serialize(lr)
        elif lr is self._lr_var:
            learning_rate = self._lr_value
        else:
            learning_rate = lr  # a callable: not serializable by name
        return {"name": self.name, "learning_rate": learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate!r}>"


def global_norm(value_list):
    """``sqrt(sum_i sum(v_i ** 2))`` over the non-None tensors (traced)."""
    from .. import ops
    total = None
    for v in value_list:
        if v is None:
            continue
        sq = ops.sum(ops.square(v))
        if total is not None and sq.dtype != total.dtype:
            sq = ops.cast(sq, total.dtype)
        total = sq if total is None else ops.add(total, sq)
    return ops.sqrt(total)


def clip_by_global_norm(value_list, clip_norm):
    """Keras's ``clip_by_global_norm``: every tensor times ``clip_norm * min(1 / norm, 1 / clip_norm)``
    (``+ (norm - norm)`` so an inf/nan norm makes the update nan, as in Keras)."""
    from .. import ops
    use_norm = global_norm(value_list)
    clip_norm = float(clip_norm)
    scale = ops.multiply(ops.minimum(ops.divide(1.0, use_norm), 1.0 / clip_norm), clip_norm)
    scale = ops.add(scale, ops.subtract(use_norm, use_norm))
    return [None if v is None else ops.multiply(v, ops.cast(scale, v.dtype)) for v in value_list]
