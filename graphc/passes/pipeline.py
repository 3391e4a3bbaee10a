"""Pass pipelines. ``run`` copies the graph, applies passes in order and verifies after each."""
from __future__ import annotations

import time

from .. import config
from ..errors import GraphError
from .cancel_transposes import cancel_transposes
from .count_params import count_params
from .decompose import decompose
from .eliminate_common import eliminate_common
from .eliminate_dead import eliminate_dead
from .fold_constants import fold_constants
from .fold_scales import fold_scales
from .fuse_elementwise import fuse_elementwise
from .fuse_epilogue import fuse_epilogue
from .fuse_pool import fuse_pool
from .fuse_updates import fuse_updates
from .infer_shapes import infer_shapes
from .pack_weights import pack_weights

UNFUSED = [infer_shapes, fold_constants, eliminate_dead, cancel_transposes, eliminate_dead, count_params]
# duplicate consts and computations merge (eliminate_common), inference BatchNormalization folds into the
# preceding Conv/Gemm (decompose + fold_scales), inference GEMMs read their weights prepacked (pack_weights),
# then loops fuse and the fused loops that consume a GEMM become its epilogue; the per-parameter optimizer
# updates (the loops no op reads) become one multi-tensor kernel
# (decompose also turns Conv into graphc.DirectConv, whose weight Transpose then composes with the layer's own)
INFERENCE = UNFUSED[:-1] + [eliminate_common, decompose, cancel_transposes, fold_scales, fold_constants, eliminate_dead,
                            pack_weights, fuse_elementwise, fuse_epilogue, fuse_pool, fuse_updates, count_params]


def run(g, passes=INFERENCE, print_passes=False, verify=True):
    """Verifies the input and the result; after every pass too with ``config.verify_each()``
    (GRAPHC_VERIFY_EACH=1 or GRAPHC_DEBUG, on in the test suite)."""
    g = g.copy()
    g.verify()
    each = verify and config.verify_each()
    show = print_passes or config.DEBUG >= 2
    if show:
        print(f"=== {g.name}: lowered ===\n{g}")
    for p in passes:
        t0 = time.perf_counter()
        g = p(g) or g
        if each:
            g.verify()
        if config.DEBUG >= 1:
            print(f"[graphc] pass {p.__name__}: {1e3 * (time.perf_counter() - t0):.2f} ms")
        if show:
            print(f"=== {g.name}: after {p.__name__} ===\n{g}")
    if verify and not each and passes:
        try:
            g.verify()
        except GraphError as e:
            raise GraphError(f"{e} (after the passes {[p.__name__ for p in passes]}; GRAPHC_VERIFY_EACH=1 "
                             "verifies after each one and names the pass)") from None
    return g
