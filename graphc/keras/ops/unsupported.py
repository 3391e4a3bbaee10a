"""Keras 3 ``keras.ops`` names graphc does not implement. Each raises NotImplementedError naming the
op, why, and what to use instead, rather than an AttributeError that reads like a typo.

Out of scope: FFTs and signal windows' transforms, linear-algebra decompositions and solvers, control
flow that needs data-dependent loops (while_loop, scan, fori_loop, map), CTC, image ops, custom
gradients and forward-mode derivatives, data-dependent output shapes (nonzero, unique).
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
    "outputs whose shape depends on the values": "use keras.ops.where with a mask (fixed shapes)",
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
