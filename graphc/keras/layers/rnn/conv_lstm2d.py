"""ConvLSTM2D lowered to one ``graphc.ConvLSTM`` op (graphc/ops/conv_lstm.py): the time loop runs in
generated code (forward and backpropagation through time), so the number of timesteps may be
unknown (``Input(shape=(None, rows, cols, channels))``) and the graph does not grow with it.

The layer is the step-by-step ConvLSTM2D of ``conv_lstm.py`` (Keras 3 arguments, weights
kernel (kh, kw, cin, 4f), recurrent_kernel (kh, kw, f, 4f), bias (4f), config, stateful states,
masks, dropout) with its sequence computation replaced by the op. Weights reach the op through
graph Transposes, so gradients flow back to the Keras variables. It falls back to the step-by-step
cell calls only where the op cannot express the computation: recurrent dropout while training,
an activation the op lacks, or a reversed (go_backwards) sequence a Bidirectional wrapper wants
back in input order.
"""
from __future__ import annotations

from ... import activations, ops
from ...ops.core import emit
from ...ops.nn import _padding_attrs
from . import conv_lstm as _stepwise_impl

_OP_ACTIVATIONS = ("tanh", "sigmoid", "relu", "hard_sigmoid", "linear")


def _act_name(fn):
    try:
        name = activations.serialize(fn)
    except ValueError:
        return None
    return name if name in _OP_ACTIVATIONS else None


class ConvLSTM2D(_stepwise_impl.ConvLSTM2D):
    __doc__ = _stepwise_impl.ConvLSTM2D.__doc__

    def _op_attrs(self, spatial):
        """The op's attributes, or None where the op cannot run this configuration."""
        cell = self.cell
        act, ract = _act_name(cell.activation), _act_name(cell.recurrent_activation)
        if act is None or ract is None:
            return None
        pads = _padding_attrs(cell.padding, spatial, cell.kernel_size, cell.strides, cell.dilation_rate)
        return dict(strides=list(cell.strides), dilations=list(cell.dilation_rate), activation=act,
                    recurrent_activation=ract, reverse=int(self.go_backwards),
                    zero_output_for_mask=int(self.zero_output_for_mask), **pads)

    def _stepwise_conv(self, x, states, mask, training, keras_order):
        cell = self.cell
        cf = cell.data_format == "channels_first"
        spatial = tuple(x.shape[3:]) if cf else tuple(x.shape[2:4])
        attrs = self._op_attrs(spatial)
        rec_dropout = training and 0 < cell.recurrent_dropout < 1
        reorder = self.go_backwards and not keras_order and self.return_sequences
        if attrs is None or rec_dropout or reorder:
            return super()._stepwise_conv(x, states, mask, training, keras_order)
        x, _ = self._dropout_masks(x, training)  # input dropout: one mask per sequence, as Keras
        xc = x if cf else ops.transpose(x, [0, 1, 4, 2, 3])  # (B, T, C, H, W)
        w = ops.transpose(cell.kernel, [3, 2, 0, 1])  # (kh, kw, in, 4f) -> (4f, in, kh, kw)
        r = ops.transpose(cell.recurrent_kernel, [3, 2, 0, 1])
        h0, c0 = (None if s is None else (s if cf else ops.transpose(s, [0, 3, 1, 2])) for s in states)
        if mask is not None:
            mask = ops.cast(mask, x.dtype) if mask.dtype != x.dtype else mask
        y, h, c = emit("ConvLSTM", [xc, w, r, cell.bias if cell.use_bias else None, h0, c0, mask], n_out=3,
                       domain="graphc", **attrs)
        if self.return_sequences:
            out = y if cf else ops.transpose(y, [0, 1, 3, 4, 2])
        else:  # the last step's output: the final h, except for a masked last step with zero outputs
            out = emit("Gather", [y, y.tracer.const(-1, "int64")], axis=1) \
                if mask is not None and self.zero_output_for_mask else h
            out = out if cf else ops.transpose(out, [0, 2, 3, 1])
        states = [h, c] if cf else [ops.transpose(s, [0, 2, 3, 1]) for s in (h, c)]
        return out, states
