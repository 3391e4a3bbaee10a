"""Image resizing as Keras 3 (JAX backend: ``jax.image.resize``) computes it, for UpSampling2D's
interpolations and the Resizing layer.

Resizing is separable and linear in the image: along each spatial axis the output is a fixed
(out, in) matrix times the input, built here in numpy from the interpolation kernel (half-pixel
centers; triangle for bilinear, Keys cubic a=-0.5 for bicubic, Lanczos 3/5; each row normalized,
which is how ``jax.image.resize`` treats samples near the border; with ``antialias`` a downsampling
kernel is widened by 1/scale). The layer applies the two matrices with MatMul on the NCHW tensor,
so the gradient comes from MatMul's rule. "nearest" picks rows with a Gather of constant indices.
"""
from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ... import ops
from ...ops.core import emit


def _cubic(x, a=-0.5):
    x = np.abs(x)
    return np.where(x <= 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


def _lanczos(x, r):
    return np.where(np.abs(x) < r, np.sinc(x) * np.sinc(x / r), 0.0)


_KERNELS = {"bilinear": lambda x: np.maximum(0.0, 1.0 - np.abs(x)), "bicubic": _cubic,
            "lanczos3": lambda x: _lanczos(x, 3), "lanczos5": lambda x: _lanczos(x, 5)}
INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")


def resize_matrix(n_in, n_out, interpolation, antialias=False):
    """The (n_out, n_in) float64 matrix of one axis."""
    kernel = _KERNELS[interpolation]
    scale = n_out / n_in
    ks = scale if antialias and scale < 1 else 1.0
    centers = (np.arange(n_out) + 0.5) / scale - 0.5
    w = kernel((np.arange(n_in)[None, :] - centers[:, None]) * ks)
    return w / w.sum(axis=1, keepdims=True)


def nearest_indices(n_in, n_out):
    """Source index of each output position (half-pixel centers, as jax.image.resize's nearest)."""
    return np.minimum(np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64), n_in - 1)


def resize_nchw(x, size, interpolation, antialias=False, where="resize"):
    """Resize the last two axes of an (N, C, H, W) traced tensor to ``size`` = (height, width)."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: `interpolation` argument should be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if interpolation == "area":
        raise UnsupportedOpError(f"{where}: interpolation='area' is not supported by graphc (Keras's JAX backend "
                                 f"has no area resize either)")
    h, w = x.shape[2], x.shape[3]
    if h is None or w is None:
        raise UnsupportedOpError(f"{where}: resizing needs the input's height and width to be known, received "
                                 f"shape {tuple(x.shape)}")
    t = x.tracer
    out_h, out_w = int(size[0]), int(size[1])
    if interpolation == "nearest":
        y = emit("Gather", [x, t.const(nearest_indices(h, out_h))], axis=2) if out_h != h else x
        return emit("Gather", [y, t.const(nearest_indices(w, out_w))], axis=3) if out_w != w else y
    dtype = x.dtype
    y = x
    if out_h != h:
        a_h = t.const(resize_matrix(h, out_h, interpolation, antialias).astype(dtype))
        y = ops.matmul(a_h, y)  # (out_h, h) @ (N, C, h, w) -> (N, C, out_h, w)
    if out_w != w:
        a_w = t.const(np.ascontiguousarray(resize_matrix(w, out_w, interpolation, antialias).T, dtype=dtype))
        y = ops.matmul(y, a_w)  # (N, C, out_h, w) @ (w, out_w)
    return y
