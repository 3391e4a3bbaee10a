"""Model: a Layer with inference (predict, __call__), weights and summary; lowering to IR."""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ..engine.layer import Layer
from ..engine.node import flatten, map_structure
from .trainer import Trainer


class Model(Trainer, Layer):
    """Base of Functional and Sequential; ``keras.Model(inputs=..., outputs=...)`` builds a Functional."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and ("inputs" in kwargs or len(args) >= 2):
            from .functional import Functional
            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *, name=None, trainable=True, dtype=None, **kwargs):
        super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
        self._exe = None
        self._subclass_inputs = None

    # --- structure -------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._sublayers)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}.")

    @property
    def weights(self):
        out, seen = [], set()
        for layer in self.layers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        for w in self._weights_list:
            if id(w) not in seen:
                out.append(w)
        return out

    def set_weights(self, weights):
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"You called `set_weights(weights)` on model {self.name!r} with a weight list of length "
                             f"{len(weights)}, but the model was expecting {len(mine)} weights.")
        for w, new in zip(mine, weights):
            new = np.asarray(new)
            if new.shape != w.shape:
                raise ShapeError(f"Model {self.name!r}: weight {w.path!r} expects shape {w.shape}, "
                                 f"received shape {new.shape}")
        for w, new in zip(mine, weights):
            w.assign(new)

    # --- lowering and inference -------------------------------------------------------------
    def _lower_inference(self):
        """The model's forward graph (inference mode) as an ir.Graph."""
        return self._lower(training=False)

    @property
    def inputs(self):
        return self._subclass_inputs

    @property
    def outputs(self):
        return None

    def _trace_forward(self, tracer, training=False):
        """Subclassed models: trace ``call`` on the input signature recorded at the first call."""
        from ..engine.layer import ir_shape
        if not self._subclass_inputs:
            raise ValueError(f"Model {self.name!r} has not been built: call it on data first")
        ins = [tracer.value(tracer.b.input(t.name, t.dtype, ir_shape(t.shape))) for t in self._subclass_inputs]
        out = self._trace_call(tracer, (ins[0] if len(ins) == 1 else ins,), {"training": training})
        return ins, flatten(out)

    def _lower(self, training=False):
        """The forward graph (inputs -> outputs) in inference or training mode."""
        from ..engine.trace import Tracer
        from .training import _alias_updates
        tracer = Tracer(name=self.name, training=training)
        _, outs = self._trace_forward(tracer, training)
        tracer.b.output(*[v.name for v in outs])
        _alias_updates(tracer, tracer.updates)  # stateful RNN states: written in place by every run
        return tracer.b.g

    def _invalidate(self):
        self._exe = None

    def _executable(self):
        if getattr(self, "_exe", None) is None:
            import graphc
            self._exe = graphc.compile(self._lower_inference())
        return self._exe

    def _ensure_built(self, x):
        """Subclassed models build on their first call, from the data's shapes (batch None)."""
        if self.built:
            return
        from ..engine.keras_tensor import KerasTensor
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        self._subclass_inputs = [KerasTensor((None,) + np.shape(a)[1:], "int64" if np.asarray(a).dtype.kind in "iu"
                                             else self.dtype, name=f"input_{i}") for i, a in enumerate(xs)]
        self.built = True

    def _standardize_inputs(self, x):
        """A list of arrays in the order of ``model.inputs`` (x may be an array, list or dict)."""
        inputs = self.inputs if hasattr(self, "inputs") else []
        if type(x) is np.ndarray and len(inputs) == 1:  # the common case, without the list work below
            return [x]
        names = [t.name for t in inputs]
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ShapeError(f"Model {self.name!r}: missing inputs {missing}; expected keys {names}, "
                                 f"received {sorted(x)}")
            return [np.asarray(x[n]) for n in names]
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        xs = [np.asarray(a) for a in xs]
        if len(xs) != len(names):
            raise ShapeError(f"Model {self.name!r} expects {len(names)} input(s) {names}, but it received "
                             f"{len(xs)} input tensors.")
        return xs

    def _run(self, xs):
        return self._pack_outputs(self._executable().run(xs))

    def _pack_outputs(self, outs):
        """Arrays in the structure of the model's outputs, as Keras 3's predict returns them: a dict for
        dict outputs (nested structures alike), else one array or a list."""
        structure = getattr(self, "_nested_outputs", None)
        if isinstance(structure, dict) or (isinstance(structure, (list, tuple)) and
                                           any(isinstance(s, (dict, list, tuple)) for s in structure)):
            it = iter(outs)
            return map_structure(lambda _: next(it), structure)
        return outs[0] if len(outs) == 1 else list(outs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` computed in batches of ``batch_size`` (default 32), one native call each.
        ``x`` may also be a PyDataset, generator or iterable of batches (``x`` or ``(x, ...)``)."""
        from .data_adapter import BatchSource, is_batch_source
        if is_batch_source(x):
            outs = [self.predict(bx, batch_size=batch_size, verbose=0) for bx, _, _ in BatchSource(x, steps).epoch()]
            if not outs:
                raise ValueError("The dataset, generator or PyDataset passed to predict yielded no batches")
            if isinstance(outs[0], list):
                return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]
            return np.concatenate(outs)
        self._ensure_built(x)
        xs = self._standardize_inputs(x)
        n = {a.shape[0] if a.ndim else 0 for a in xs}
        if len(n) != 1:
            raise ShapeError(f"Model {self.name!r}: all inputs must have the same number of samples, "
                             f"received sizes {[a.shape[0] for a in xs]}")
        n = n.pop()
        batch_size = batch_size or 32
        exe = self._executable()
        from ..utils.progbar import Progbar
        bar = Progbar(-(-n // batch_size), verbose=1 if verbose == "auto" else verbose)
        chunks = []
        for i, start in enumerate(range(0, n, batch_size)):
            chunks.append(exe.run([a[start:start + batch_size] for a in xs]))
            bar.update(i + 1)
        if not chunks:
            chunks = [exe.run([a[:0] for a in xs])]
        outs = [np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0]))]
        return self._pack_outputs(outs)

    def predict_on_batch(self, x):
        self._ensure_built(x)
        return self._run(self._standardize_inputs(x))

    def __call__(self, *args, **kwargs):
        from ..engine.keras_tensor import KerasTensor
        from ..engine.trace import SymbolicValue, current
        leaves = flatten((args, list(kwargs.values())))
        if any(isinstance(v, (KerasTensor, SymbolicValue)) for v in leaves) or current() is not None:
            return super().__call__(*args, **kwargs)
        self._ensure_built(args[0])
        if kwargs.get("training"):  # dropout/noise active, BatchNormalization on batch statistics
            return self._eager_call(args, {"training": True})
        return self._run(self._standardize_inputs(args[0]))

    def to_json(self, **kwargs):
        """The architecture as Keras 3's JSON (``keras.models.model_from_json`` reads it back)."""
        import json

        from ..saving.model_saving import serialize_model_config
        return json.dumps(serialize_model_config(self), **kwargs)

    # --- files -----------------------------------------------------------------------------
    def export(self, filepath, format="onnx", opset=None, optimize=False):
        """Write the inference graph as a standard ONNX model (dynamic batch, weights as initializers)."""
        if format != "onnx":
            raise ValueError(f"graphc exports format='onnx'; received format={format!r}")
        from ... import onnx as gonnx
        from ...ir import OPSET
        return gonnx.export(self, filepath, opset=opset or OPSET, optimize=optimize)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights as HDF5 (Keras 3's ``.weights.h5`` layout, or the legacy ``.h5`` one), atomically."""
        from .. import saving
        return saving.save_weights(self, filepath, overwrite=overwrite)

    def save(self, filepath, overwrite=True, **kwargs):
        """Save the whole model (config, weights, compile state): ``.keras`` archive or legacy ``.h5``."""
        from .. import saving
        return saving.save_model(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        from .. import saving
        return saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    # --- summary ---------------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        from .summary import print_summary
        print_summary(self, line_length=line_length, print_fn=print_fn, show_trainable=show_trainable)

    def reset_states(self):
        """Zero the states of every stateful layer (Keras's ``model.reset_states()``)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()
            elif isinstance(layer, Model):
                layer.reset_states()

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on model '{self.name}', but the model isn't built.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}
