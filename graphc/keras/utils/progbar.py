"""A Keras-style progress bar (``verbose=1``: live bar; ``2``: one line at the end; ``0``: silent)."""
from __future__ import annotations

import sys
import time


class Progbar:
    def __init__(self, target, width=30, verbose=1, interval=0.05, unit_name="step", stateful_metrics=None):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.unit_name = unit_name
        self._start = time.time()
        self._last = 0.0
        self._values = {}
        self._dynamic = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()

    def update(self, current, values=None, finalize=None):
        values = values or []
        for k, v in values:
            self._values[k] = v
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        if self.verbose == 0 or (not finalize and now - self._last < self.interval):
            return
        self._last = now
        elapsed = now - self._start
        metrics = " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in self._values.items())
        if self.verbose == 1:
            if self.target:
                done = int(self.width * current / self.target)
                bar = "━" * done + "─" * (self.width - done)
                per = elapsed / max(current, 1)
                eta = per * (self.target - current)
                timing = f"{elapsed:.0f}s {per * 1e3:.0f}ms/{self.unit_name}" if finalize else f"ETA: {eta:.0f}s"
                text = f"{current}/{self.target} {bar} {timing}" + (f" - {metrics}" if metrics else "")
            else:
                text = f"{current} - {elapsed:.0f}s" + (f" - {metrics}" if metrics else "")
            if self._dynamic:
                sys.stdout.write("\r" + text + ("\n" if finalize else ""))
            elif finalize:
                sys.stdout.write(text + "\n")
            sys.stdout.flush()
        elif self.verbose == 2 and finalize:
            sys.stdout.write(f"{current}/{self.target} - {elapsed:.0f}s" + (f" - {metrics}" if metrics else "") + "\n")
            sys.stdout.flush()

