"""Memory planning: liveness over the scheduled ops, then one arena with reused offsets.

Every temporary (an intermediate value that is not a graph output) and every kernel workspace
gets an offset in ONE arena. Two buffers may share bytes only when their live ranges are
disjoint. A buffer's live range is the closed interval of schedule positions
``[first write, last read]``:

- a temporary is written by its producer and read by its consumers (a dead output of a
  multi-output op lives at its producer's step only);
- a workspace lives at its op's step only;
- a value aliased onto a buffer (``Graph.aliases``, an in-place update) extends that buffer's
  range to its own uses.

Because the range is closed, an op's outputs and workspaces never overlap its inputs: they are
all live at the op's step. Kernels declare their pointer arguments ``noalias``, so that is required.

Placement is greedy by size with best fit (the "greedy by size" strategy of TFLite's arena planner):
buffers in decreasing size order, each at the offset of the smallest gap between already-placed,
overlapping-in-time buffers that fits it (or on top). ``peak_live`` is the lower bound no placement
can beat: the largest total size of buffers live at one step.

:func:`plan_arena` is a plain function of (graph or its lifetimes, symbol binding); the runtime
and the AOT library builder share it, so both lay out the arena identically.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import np_dtype
from ..ops import registry
from .program import buffer_plan, schedule

ALIGN = 64
ARENA_KINDS = ("temp", "workspace")


@dataclass(frozen=True)
class Lifetime:
    """One arena buffer: its table slot, name, type and closed live range in schedule steps."""
    slot: int
    name: str
    type: object  # TensorType
    start: int
    end: int


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict  # table slot -> byte offset in the arena
    size: int  # bytes the arena needs
    peak_live: int  # the lower bound: largest sum of (aligned) sizes live at one step
    unshared: int  # bytes without reuse (every buffer its own range)
    sizes: dict  # table slot -> aligned byte size

    @property
    def ratio(self) -> float:
        """planned / lower bound (1.0 is optimal)."""
        return self.size / self.peak_live if self.peak_live else 1.0


def lifetimes(g, plan=None) -> list[Lifetime]:
    """Live ranges of the arena buffers of ``g`` over ``schedule(g)`` (independent of the batch size)."""
    plan = buffer_plan(g) if plan is None else plan
    slots = {b.name: i for i, b in enumerate(plan)}
    owner = {n: n for n in slots}
    owner.update({new: old for new, old in g.aliases.items()})  # an update lives in its variable's buffer
    first, last = {}, {}

    def touch(name, step):
        b = owner.get(name, name)
        first.setdefault(b, step)
        last[b] = max(last.get(b, step), step)

    for step, op in enumerate(schedule(g)):
        for v in g.op_inputs(op):
            if v is not None:
                touch(v, step)
        for v in g.op_outputs(op):
            touch(v, step)
        opdef = registry.get(op.op_type, op.domain)
        in_types = [g.value(v).type if v else None for v in g.op_inputs(op)]
        for i in range(len(opdef.workspace(op, in_types))):
            touch(f"{op.name}#ws{i}", step)
    out = []
    for i, b in enumerate(plan):
        if b.kind in ARENA_KINDS:
            start = first.get(b.name, 0)
            out.append(Lifetime(i, b.name, b.type, start, last.get(b.name, start)))
    return out


def _nbytes(t, bind, align):
    n = t.numel(bind) * np_dtype(t.dtype).itemsize
    return -(-n // align) * align


def plan_arena(g_or_lifetimes, bind: dict, reuse: bool = True, align: int = ALIGN) -> ArenaPlan:
    """Offsets of every arena buffer for one binding of the symbolic dims (``{"N": 256}``).

    ``g_or_lifetimes`` is a Graph or the result of :func:`lifetimes` (compute it once per graph:
    only the sizes depend on ``bind``). ``reuse=False`` gives every buffer its own bytes.
    Offsets are multiples of ``align``.
    """
    lts = lifetimes(g_or_lifetimes) if hasattr(g_or_lifetimes, "aliases") else list(g_or_lifetimes)
    sizes = {lt.slot: _nbytes(lt.type, bind, align) for lt in lts}
    unshared = sum(sizes.values())
    peak = _peak_live(lts, sizes)
    offsets = {}
    if not reuse:
        top = 0
        for lt in lts:
            offsets[lt.slot] = top
            top += sizes[lt.slot]
        return ArenaPlan(offsets, top, peak, unshared, sizes)
    placed = []  # (offset, end_offset, start_step, end_step)
    top = 0
    for lt in sorted(lts, key=lambda lt: (-sizes[lt.slot], lt.start, lt.slot)):
        need = sizes[lt.slot]
        if need == 0:
            offsets[lt.slot] = 0
            continue
        busy = sorted((lo, hi) for lo, hi, s, e in placed if s <= lt.end and lt.start <= e)
        best, best_gap, cursor = None, None, 0
        for lo, hi in busy:
            gap = lo - cursor
            if gap >= need and (best_gap is None or gap < best_gap):
                best, best_gap = cursor, gap
            cursor = max(cursor, hi)
        off = cursor if best is None else best
        offsets[lt.slot] = off
        placed.append((off, off + need, lt.start, lt.end))
        top = max(top, off + need)
    return ArenaPlan(offsets, top, peak, unshared, sizes)


def _peak_live(lts, sizes) -> int:
    """Largest sum of sizes of buffers whose closed ranges contain one step (sweep over steps)."""
    delta = {}
    for lt in lts:
        delta[lt.start] = delta.get(lt.start, 0) + sizes[lt.slot]
        delta[lt.end + 1] = delta.get(lt.end + 1, 0) - sizes[lt.slot]
    live = peak = 0
    for step in sorted(delta):
        live += delta[step]
        peak = max(peak, live)
    return peak


def check_plan(lts, plan: ArenaPlan) -> None:
    """Raise AssertionError if two buffers live at the same step share a byte (used by tests)."""
    lts = sorted(lts, key=lambda lt: lt.start)
    for i, a in enumerate(lts):
        for b in lts[i + 1:]:
            if b.start > a.end:
                break
            ao, bo = plan.offsets[a.slot], plan.offsets[b.slot]
            if ao < bo + plan.sizes[b.slot] and bo < ao + plan.sizes[a.slot] and plan.sizes[a.slot] and plan.sizes[b.slot]:
                raise AssertionError(f"{a.name} [{ao}, +{plan.sizes[a.slot]}) steps {a.start}-{a.end} overlaps "
                                     f"{b.name} [{bo}, +{plan.sizes[b.slot]}) steps {b.start}-{b.end}")
