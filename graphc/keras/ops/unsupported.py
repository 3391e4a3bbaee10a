"""Keras 3 ``keras.ops`` names graphc does not implement. Each raises NotImplementedError naming the
op, why, and what to use instead, rather than an AttributeError that reads like a typo.

Out of scope: FFTs, linear-algebra decompositions and solvers, control flow that needs data-dependent
loops (while_loop, scan, fori_loop, map), CTC, image ops (``keras.ops.image``), custom gradients and
forward-mode derivatives, data-dependent output shapes (nonzero, unique, bincount), integer bit
operations and complex numbers.
"""
from __future__ import annotations

_WHY = {
    "fft": "FFTs", "fft2": "FFTs", "ifft2": "FFTs", "rfft": "FFTs", "irfft": "FFTs", "stft": "FFTs",
    "istft": "FFTs",
    "cholesky": "matrix decompositions", "cholesky_inverse": "matrix decompositions", "det": "matrix decompositions",
    "eig": "matrix decompositions", "eigh": "matrix decompositions", "inv": "matrix decompositions",
    "lu_factor": "matrix decompositions", "qr": "matrix decompositions", "svd": "matrix decompositions",
    "slogdet": "matrix decompositions", "logdet": "matrix decompositions", "pinv": "matrix decompositions",
    "matrix_rank": "matrix decompositions", "solve": "linear solvers", "solve_triangular": "linear solvers",
    "lstsq": "linear solvers",
    "while_loop": "data-dependent control flow", "scan": "data-dependent control flow",
    "fori_loop": "data-dependent control flow", "associative_scan": "data-dependent control flow",
    "map": "data-dependent control flow", "vectorized_map": "data-dependent control flow",
    "cond": "data-dependent control flow", "switch": "data-dependent control flow",
    "ctc_loss": "CTC", "ctc_decode": "CTC",
    "custom_gradient": "user-defined gradients", "jvp": "forward-mode differentiation",
    "nonzero": "outputs whose shape depends on the values", "unique": "outputs whose shape depends on the values",
    "bincount": "outputs whose shape depends on the values",
    **{n: "integer bit operations" for n in ("bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not",
                                             "bitwise_or", "bitwise_right_shift", "bitwise_xor", "left_shift",
                                             "right_shift", "gcd", "lcm", "nextafter")},
    **{n: "complex numbers and bit reinterpretation" for n in ("polar", "view_as_complex", "view_as_real", "view")},
}
_INSTEAD = {
    "FFTs": "compute it with numpy.fft on arrays outside the model",
    "matrix decompositions": "compute it with numpy.linalg on arrays outside the model",
    "linear solvers": "compute it with numpy.linalg on arrays outside the model",
    "data-dependent control flow": "unroll a fixed number of steps in Python (the trace records each step), "
                                   "or use keras.ops.where to select between branches",
    "CTC": "compute the loss with a framework that provides it",
    "user-defined gradients": "graphc differentiates the traced ops itself; use keras.ops.stop_gradient to "
                              "cut a path",
    "forward-mode differentiation": "use reverse-mode gradients through fit or a loss",
    "outputs whose shape depends on the values": "use keras.ops.where with a mask (fixed shapes), or "
                                                 "one_hot/multi_hot with a known number of classes",
    "integer bit operations": "graphc's keras.ops compute integer arrays as floats; use numpy on the arrays",
    "complex numbers and bit reinterpretation": "graphc tensors are real floats; use numpy on the arrays",
}

__all__ = sorted(_WHY)


def _make(name):
    what = _WHY[name]

    def fn(*args, **kwargs):
        raise NotImplementedError(f"keras.ops.{name} is not supported by graphc ({what} are out of graphc's "
                                  f"scope): {_INSTEAD[what]}")
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Not supported by graphc ({what}); raises NotImplementedError."
    return fn


globals().update({_n: _make(_n) for _n in __all__})


class _ImageNamespace:
    """``keras.ops.image``: every attribute raises NotImplementedError (image ops are out of scope)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def fn(*args, **kwargs):
            raise NotImplementedError(f"keras.ops.image.{name} is not supported by graphc (image ops are out of "
                                      "graphc's scope): preprocess images with numpy or PIL before the model, or "
                                      "use layers such as keras.layers.UpSampling2D/Cropping2D inside it")
        return fn


image = _ImageNamespace()
__all__ = __all__ + ["image"]
