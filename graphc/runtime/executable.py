"""Executable: validate inputs, bind symbolic sizes, make one native call, return numpy arrays.

Validation (dtype, rank, sizes, and the ``meta["index_range"]`` a front end declares on an integer
input that indexes a table, e.g. Embedding's token ids) runs in Python before the native call.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .. import config
from ..codegen import buffer_plan, compile_graph
from ..codegen.memplan import lifetimes, plan_arena
from ..errors import DTypeError, GraphError, ShapeError
from ..ir import np_dtype
from . import weights

_ALIGN = 64
_PROGRAM_T = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_from_buffer, _addressof = ctypes.c_char.from_buffer, ctypes.addressof


def _address(a: np.ndarray) -> int:
    """Data address of a C-contiguous array. ``a.ctypes.data`` builds a ctypes object per call (~10 us on
    this machine, the largest per-call cost of a one-sample predict); the buffer protocol takes ~0.3 us."""
    try:
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError, BufferError):  # read-only or empty arrays
        return a.ctypes.data


def _aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on an ``_ALIGN``-byte boundary (vector loads)."""
    n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    raw = np.empty(n + _ALIGN, dtype=np.uint8)
    start = (-raw.ctypes.data) % _ALIGN
    return raw[start:start + n].view(dtype).reshape(shape)


def _fmt_shape(shape):
    return "(" + ", ".join("None" if isinstance(d, str) else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class _Binding:
    """One assignment of the symbolic dims: the arena plan, the pointer table and the output shapes.

    Every binding of an Executable shares one arena (grown to the largest need), so a new batch
    size does not map and fault in fresh memory: first touches are expensive. Offsets come from
    :func:`graphc.codegen.memplan.plan_arena` (buffers with disjoint live ranges share bytes).
    """

    def __init__(self, exe, dims: tuple):
        bind = dict(zip(exe.symbols, dims))
        self.dims = np.array(dims if dims else [0], dtype=np.int64)
        self.dims_ptr = self.dims.ctypes.data
        self.table = np.zeros(len(exe.plan), dtype=np.uintp)
        self.table_ptr = self.table.ctypes.data
        self.out_shapes = {b.name: b.type.concrete(bind) for b in exe.plan if b.kind == "output"}
        self.arena = plan_arena(exe.lifetimes, bind, reuse=exe.memplan, align=_ALIGN)
        self.offsets = self.arena.offsets
        self.arena_bytes = self.arena.size
        self.arena_base = None  # the arena address the table was filled for

    def point_into(self, base: int):
        """Fill the arena pointers for an arena starting at the (aligned) address ``base``."""
        if base != self.arena_base:
            for i, off in self.offsets.items():
                self.table[i] = base + off
            self.arena_base = base


def _check_index_range(name, x, lo, hi, layer):
    """Raise ShapeError (a ValueError) naming the first index of ``x`` outside [lo, hi) and the layer."""
    if x.min() < lo or x.max() >= hi:
        bad = (x < lo) | (x >= hi)
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ShapeError(f"input {name!r}: layer {layer!r} received index {int(x[pos])} at position {pos}, "
                         f"outside the valid range [{lo}, {hi}) (indices must satisfy {lo} <= index < {hi})")


class Executable:
    """A compiled graph. ``run(inputs)`` returns the graph's outputs as numpy arrays.

    Params, states and consts are the numpy arrays held in the graph's values (``Value.data``);
    the runtime reads and writes them in place, so the front end's weights *are* the buffers.
    """

    def __init__(self, graph, opt_level: int = 3, source_graph=None, use_cache=True, memplan=None):
        self.graph = graph
        self.source_graph = source_graph
        self.plan = buffer_plan(graph)
        # memory planning: temporaries with disjoint live ranges share arena bytes (GRAPHC_MEMPLAN=0: off)
        self.memplan = config.memplan_default() if memplan is None else bool(memplan)
        self.lifetimes = lifetimes(graph, self.plan)
        self.symbols = graph.symbols()
        self.compiled = compile_graph(graph, opt_level, use_cache)
        self._fn = _PROGRAM_T(self.compiled.address)
        self._prologue = _PROGRAM_T(self.compiled.prologue_address)
        self._prologue_generation = None  # weights generation the cached buffers were computed for
        self._updates_weights = bool(graph.aliases)
        self.input_names = list(graph.inputs)
        self.input_types = [graph.value(n).type for n in graph.inputs]
        # integer inputs that index a table (Embedding): meta["index_range"] = (lo, hi, layer) is checked
        # in validate(), so a bad index is a clear error instead of a zero row from the Gather kernel
        self.input_ranges = {n: tuple(graph.value(n).meta["index_range"]) for n in graph.inputs
                             if graph.value(n).meta.get("index_range") is not None}
        self._plain_inputs = not self.input_ranges  # validate() may remember signatures that passed
        self._seen = {}  # ((shape, dtype, C-contiguous) per input) -> symbolic dim values
        self.output_names = list(graph.outputs)
        self._slots = {b.name: i for i, b in enumerate(self.plan)}
        self._sources = {}  # name -> array held in the table (params, states, consts)
        for b in self.plan:
            if b.kind in ("param", "state", "const"):
                self._sources[b.name] = self._check_source(b)
            elif b.kind == "cached":  # results of hoisted weight-only ops, kept between calls
                self._sources[b.name] = _aligned_empty(b.type.shape, np_dtype(b.type.dtype))
        unbound = [s for s in self.symbols if not any(s in t.shape for t in self.input_types)]
        if unbound:
            raise GraphError(f"symbolic dims {unbound} are not fixed by any graph input")
        self._bindings: dict[tuple, _Binding] = {}
        self._arena = np.empty(_ALIGN, dtype=np.uint8)
        self._arena_base = self._aligned_base()
        self.native_calls = 0
        self.prologue_calls = 0  # runs of gc_prologue (the hoisted weight-only ops)
        # precomputed for run(): a call does only validation, table writes for inputs/outputs, one native call
        self._source_values = [(graph.value(n), arr) for n, arr in self._sources.items()
                               if self.plan[self._slots[n]].kind != "cached"]
        self._in_slots = [self._slots[n] for n in self.input_names]
        self._out_alloc = []  # (name, slot, dtype) of each distinct output with its own buffer
        for name in dict.fromkeys(self.output_names):
            b = self.plan[self._slots[name]]
            if b.kind == "output":
                self._out_alloc.append((name, self._slots[name], np_dtype(b.type.dtype)))
        self._simple_outputs = (len(self._out_alloc) == len(self.output_names))  # all distinct, all computed

    def _aligned_base(self) -> int:
        base = self._arena.ctypes.data
        return base + (-base) % _ALIGN

    def _check_source(self, b):
        arr = self.graph.value(b.name).data
        if arr is None:
            raise GraphError(f"{b.kind} {b.name!r} has no data bound")
        want = np_dtype(b.type.dtype)
        writable = b.kind != "const"  # params and states are updated in place by training
        if not (isinstance(arr, np.ndarray) and arr.dtype == want and arr.flags.c_contiguous
                and arr.shape == b.type.shape and (arr.flags.writeable or not writable)):
            raise GraphError(f"{b.kind} {b.name!r}: buffer must be a {'writable ' if writable else ''}"
                             f"C-contiguous {want} array of shape "
                             f"{b.type.shape}, got {type(arr).__name__} {getattr(arr, 'dtype', '')} {getattr(arr, 'shape', '')}")
        return arr

    # --- input validation ---------------------------------------------------------------
    def validate(self, inputs) -> tuple[list[np.ndarray], tuple]:
        """Check and convert inputs; returns (contiguous arrays, symbolic dim values).

        Arrays that passed unchanged (right dtype, C-contiguous) are remembered by their shapes and
        dtypes, so the next call with the same signature skips the per-axis checks (a one-sample
        predict is mostly this overhead); inputs with a declared index range are always checked."""
        if type(inputs) is list and self._plain_inputs and len(inputs) == len(self.input_names):
            try:
                key = tuple((x.shape, x.dtype, x.flags.c_contiguous) for x in inputs)
            except AttributeError:  # not arrays: the full path converts them
                key = None
            dims = self._seen.get(key)
            if dims is not None:
                return inputs, dims
        else:
            key = None
        arrays, dims = self._validate(inputs)
        if key is not None and all(a is x for a, x in zip(arrays, inputs)) and len(self._seen) < 64:
            self._seen[key] = dims
        return arrays, dims

    def _validate(self, inputs):
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            extra = [n for n in inputs if n not in self.input_names]
            if missing or extra:
                raise ShapeError(f"expected inputs named {self.input_names}; missing {missing}, unexpected {extra}")
            inputs = [inputs[n] for n in self.input_names]
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(self.input_names):
            raise ShapeError(f"expected {len(self.input_names)} input(s) {self.input_names}, received {len(inputs)}")
        arrays, bind = [], {}
        for name, t, x in zip(self.input_names, self.input_types, inputs):
            x = np.asarray(x)
            want = np_dtype(t.dtype)
            if x.dtype.kind not in "biuf":
                raise DTypeError(f"input {name!r}: expected a numeric array castable to {want}, received dtype {x.dtype}")
            if want.kind in "iu" and x.dtype.kind == "f" and not np.all(np.isfinite(x) & (x == np.round(x))):
                raise DTypeError(f"input {name!r}: expected integer values ({want}), received non-integer {x.dtype} data")
            if x.ndim != t.rank:
                raise ShapeError(f"input {name!r}: expected shape {_fmt_shape(t.shape)} (rank {t.rank}), "
                                 f"received shape {x.shape} (rank {x.ndim})")
            for a, d in enumerate(t.shape):
                if isinstance(d, str):
                    if bind.setdefault(d, x.shape[a]) != x.shape[a]:
                        raise ShapeError(f"input {name!r}: axis {a} has size {x.shape[a]} but another input has "
                                         f"{bind[d]} for the same dimension {d!r} (mismatched batch sizes?)")
                elif x.shape[a] != d:
                    raise ShapeError(f"input {name!r}: expected axis {a} to have size {d}, i.e. shape "
                                     f"{_fmt_shape(t.shape)}, but received input with shape {x.shape}")
            arrays.append(np.ascontiguousarray(x, dtype=want))
            rng = self.input_ranges.get(name)
            if rng is not None and x.size:
                _check_index_range(name, arrays[-1], *rng)
        return arrays, tuple(bind[s] for s in self.symbols)

    def binding(self, dims: tuple) -> _Binding:
        """The binding for these symbol values (created once: arena plan, table of param/state/const and
        arena pointers); afterwards a call only writes its input and output pointers."""
        bnd = self._bindings.get(dims)
        if bnd is None:
            bnd = self._bindings[dims] = _Binding(self, dims)
            for name, arr in self._sources.items():
                bnd.table[self._slots[name]] = arr.ctypes.data
        if self._arena.size < bnd.arena_bytes + _ALIGN:
            self._arena = np.empty(bnd.arena_bytes + _ALIGN, dtype=np.uint8)
            self._arena_base = self._aligned_base()
        bnd.point_into(self._arena_base)
        return bnd

    # --- running ------------------------------------------------------------------------
    def run(self, inputs) -> list[np.ndarray]:
        arrays, dims = self.validate(inputs)
        for v, arr in self._source_values:  # weights must be updated in place
            if v.data is not arr:
                raise GraphError(f"buffer of {v.name!r} was replaced; assign weights in place (arr[...] = new)")
        bnd = self._bindings.get(dims)
        if bnd is None or bnd.arena_base != self._arena_base:
            bnd = self.binding(dims)
        table = bnd.table
        for slot, x in zip(self._in_slots, arrays):
            table[slot] = _address(x) if x.size else self._arena_base
        made = {}
        for name, slot, dtype in self._out_alloc:
            o = made[name] = np.empty(bnd.out_shapes[name], dtype=dtype)
            table[slot] = _address(o) if o.size else self._arena_base
        if self._prologue_generation != weights.generation():
            self._prologue(bnd.table_ptr, bnd.dims_ptr)
            self._prologue_generation = weights.generation()
            self.prologue_calls += 1
        self._fn(bnd.table_ptr, bnd.dims_ptr)
        self.native_calls += 1
        if self._updates_weights:
            weights.weights_changed()
        if self._simple_outputs:
            return list(made.values())
        result, returned = [], set()
        for name in self.output_names:
            o = made.get(name)
            if o is None:  # an output that is an input, param or const
                src = arrays[self.input_names.index(name)] if name in self.input_names else self._sources[name]
                o = np.array(src, copy=True)
            elif id(o) in returned:  # the same value listed twice: one buffer, returned twice
                o = o.copy()
            returned.add(id(o))
            result.append(o)
        return result

    __call__ = run

    def arena_bytes(self, dims: tuple) -> int:
        return self.binding(tuple(dims)).arena_bytes

    def memory_report(self, dims: tuple | dict | None = None) -> dict:
        """The arena plan for one binding of the symbolic dims (a tuple in ``symbols`` order, a dict, or
        None for every symbol = 1): planned arena bytes, the peak-live lower bound (largest total size of
        buffers live at one step), bytes without reuse, and the number of arena buffers."""
        if isinstance(dims, dict):
            dims = tuple(dims[s] for s in self.symbols)
        p = self.binding(tuple(dims) if dims is not None else (1,) * len(self.symbols)).arena
        return {"arena_bytes": p.size, "peak_live_bytes": p.peak_live, "unshared_bytes": p.unshared,
                "ratio_to_bound": p.ratio, "buffers": len(p.offsets), "memplan": self.memplan}
