"""InputSpec: what a layer accepts, checked with Keras's error messages."""
from __future__ import annotations

from ...errors import ShapeError


class InputSpec:
    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None, allow_last_axis_squeeze=False, name=None):
        self.dtype, self.shape, self.name = dtype, shape, name
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}


def assert_input_compatibility(spec, shapes, layer_name):
    if spec is None:
        return
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    shape_list = shapes if (isinstance(shapes, list) and shapes and isinstance(shapes[0], (tuple, list))) else [shapes]
    for i, (s, shape) in enumerate(zip(specs, shape_list)):
        if s is None or shape is None:
            continue
        shape = tuple(shape)
        pre = f'Input {i} of layer "{layer_name}" is incompatible with the layer: '
        if s.ndim is not None and len(shape) != s.ndim:
            raise ShapeError(pre + f"expected ndim={s.ndim}, found ndim={len(shape)}. Full shape received: {shape}")
        if s.min_ndim is not None and len(shape) < s.min_ndim:
            raise ShapeError(pre + f"expected min_ndim={s.min_ndim}, found ndim={len(shape)}. Full shape received: {shape}")
        if s.max_ndim is not None and len(shape) > s.max_ndim:
            raise ShapeError(pre + f"expected max_ndim={s.max_ndim}, found ndim={len(shape)}. Full shape received: {shape}")
        for axis, value in s.axes.items():
            if value is not None and -len(shape) <= axis < len(shape) and shape[axis] not in (value, None):
                raise ShapeError(pre + f"expected axis {axis} of input shape to have value {value}, "
                                 f"but received input with shape {shape}")
        if s.shape is not None:
            for a, (want, got) in enumerate(zip(s.shape, shape)):
                if want is not None and got is not None and want != got:
                    raise ShapeError(pre + f"expected shape={s.shape}, found shape={shape}")
