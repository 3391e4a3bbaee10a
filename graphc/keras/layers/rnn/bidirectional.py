from __future__ import annotations

from ... import ops
from ...engine.layer import Layer
from ..core.time_distributed import deserialize_layer, serialize_layer
from .rnn import RNN

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _remove_prefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards (``go_backwards``) and merges the
    two outputs (``merge_mode`` concat / sum / mul / ave, or None for both as a list).

    As in Keras, the forward layer is rebuilt from ``layer``'s config (named ``forward_<name>``)
    and the backward one is ``backward_layer`` or a copy with ``go_backwards=True`` (named
    ``backward_<name>``); with ``return_sequences`` the backward outputs are merged in the
    input's time order. The weights are the forward layer's, then the backward layer's.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `keras.layers.Layer` instance. Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        self.forward_layer = self._copy(layer, f"forward_{_remove_prefix(layer.name, 'forward_')}")
        if backward_layer is None:
            self.backward_layer = self._copy(layer, f"backward_{_remove_prefix(layer.name, 'backward_')}",
                                             go_backwards=True)
        else:
            self.backward_layer = backward_layer
        for a in ("go_backwards",):
            if getattr(self.forward_layer, a) == getattr(self.backward_layer, a):
                raise ValueError("Forward layer and backward layer should have different `go_backwards` value. "
                                 f"Received: forward_layer.go_backwards {self.forward_layer.go_backwards}, "
                                 f"backward_layer.go_backwards={self.backward_layer.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            f, b = getattr(self.forward_layer, a), getattr(self.backward_layer, a)
            if f != b:
                raise ValueError(f'Forward layer and backward layer are expected to have the same value for attribute '
                                 f'"{a}", got "{f}" for forward layer and "{b}" for backward layer')
        for sub in (self.forward_layer, self.backward_layer):  # as Keras: zeros at masked steps of sequences
            if isinstance(sub, RNN):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec
        self._bidi_initial_weights = weights

    @staticmethod
    def _copy(layer, name, **overrides):
        cfg = serialize_layer(layer)
        cfg["config"] = {**cfg["config"], "name": name, **overrides}
        return deserialize_layer(cfg)

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            sub._maybe_build(sequences_shape)
        self.built = True
        if self._bidi_initial_weights:
            self.set_weights(self._bidi_initial_weights)

    @property
    def states(self):
        f, b = getattr(self.forward_layer, "states", None), getattr(self.backward_layer, "states", None)
        return tuple(f) + tuple(b) if f and b else None

    def reset_states(self):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def _run(self, layer, x, initial_state, mask, training, backward):
        """One direction; a backward RNN's sequence comes back in the input's time order."""
        if isinstance(layer, RNN):
            with x.tracer.layer_scope(layer):
                if not layer.built:
                    layer._maybe_build(x.shape)
                out, states = layer._run(x, initial_state, mask, training, keras_order=not backward)
            return [out] + list(states) if layer.return_state else out
        kw = {"training": training} if layer._call_accepts("training") else {}
        if mask is not None and layer._call_has_arg("mask"):
            kw["mask"] = mask
        out = layer(x, initial_state=initial_state, **kw) if initial_state is not None else layer(x, **kw)
        if backward and layer.return_sequences:  # a non-RNN backward layer returns Keras's reversed order
            from .rnn import _reverse_time
            first = out[0] if layer.return_state else out
            first = _reverse_time(first, layer.name)
            out = [first] + list(out[1:]) if layer.return_state else first
        return out

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = list(initial_state[:half]), list(initial_state[half:])
        y = self._run(self.forward_layer, sequences, fwd_state, mask, training, backward=False)
        y_rev = self._run(self.backward_layer, sequences, bwd_state, mask, training, backward=True)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        mode = self.merge_mode
        if mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif mode == "sum":
            output = ops.add(y, y_rev)
        elif mode == "ave":
            output = ops.divide(ops.add(y, y_rev), 2.0)
        elif mode == "mul":
            output = ops.multiply(y, y_rev)
        else:
            output = [y, y_rev]
        if self.return_state:
            return (list(output) if mode is None else [output]) + list(states)
        return output

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            out = [mask, mask] if not self.merge_mode else mask
        else:
            out = [None, None] if not self.merge_mode else None
        if self.return_state and self.states is not None:
            n = len(self.states)
            return (list(out) if isinstance(out, list) else [out]) + [None] * n
        return out

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": serialize_layer(self.forward_layer),
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"], custom_objects)
        return cls(**config)
