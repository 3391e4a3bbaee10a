"""The weights generation: a counter that moves whenever any weight buffer may have changed.

Compiled programs keep the results of their weight-only ops (codegen ``gc_prologue``) between
calls and recompute them only when the generation has moved since. Every writer of weights bumps
it: ``Variable.assign`` (``set_weights``, loading), an imported model's ``set_weights``, and any
program that updates weights in place (a train step). Code that writes a weight's numpy buffer
directly must call :func:`weights_changed` too.
"""
from __future__ import annotations

_generation = 0


def weights_changed() -> None:
    global _generation
    _generation += 1


def generation() -> int:
    return _generation
