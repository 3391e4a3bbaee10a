"""``keras.utils.Progbar``: Keras's progress bar.

``verbose=1`` draws a live bar (``12/32 ━━━━━━━━━━━━━━━━━━━━ 1s 31ms/step - loss: 0.2400``) with
the ETA while running and the elapsed time once finished; ``verbose=2`` prints one line when
the target is reached (``32/32 - 1s - 31ms/step - loss: 0.2400``); ``verbose=0`` is silent.

Metrics are averaged over the steps seen (weighted by the steps each value covers) unless
they are *stateful* (given in ``stateful_metrics``, or not in ``stateless_metrics`` when that
is given), which are shown as they come, as in Keras.

The live bar redraws one line in place (``\\r``) when stdout is a terminal or a notebook. When
stdout is redirected (a file, a pipe, pytest's capture) only the finished line of each bar is
written, so logs hold one clean line per epoch instead of a trail of partial bars.
"""
from __future__ import annotations

import math
import os
import sys
import time

__all__ = ["Progbar", "print_msg", "format_time_per_unit"]

_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def print_msg(message, line_break=True):
    """Write ``message`` to stdout (as Keras's ``io_utils.print_msg`` does) and flush."""
    message = str(message) + ("\n" if line_break else "")
    try:
        sys.stdout.write(message)
    except UnicodeEncodeError:  # a terminal that cannot show the bar characters
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        sys.stdout.write(message.replace("━", "=").encode(encoding, errors="ignore").decode(encoding))
    sys.stdout.flush()


def format_time_per_unit(time_per_unit, unit_name):
    """`` 3ms/step`` (with its leading space), in s, ms or us as Keras prints it."""
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _format_value(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return f" {value}"
    return f" {value:.4f}" if abs(value) > 1e-3 else f" {value:.4e}"


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, ``None`` if unknown.
        width: width of the bar in characters (20, as Keras).
        verbose: 0 (silent), 1 (live bar), 2 (one line when done).
        interval: minimum time in seconds between two redraws of the live bar.
        stateful_metrics: names shown as given (not averaged). Give this or ``stateless_metrics``.
        stateless_metrics: names that are averaged; every other metric is then shown as given.
        unit_name: what a step is called (``"step"`` or ``"sample"``).
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, stateless_metrics=None,
                 unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be provided. "
                             f"Received: stateful_metrics={stateful_metrics!r}, "
                             f"stateless_metrics={stateless_metrics!r}")
        self.target = target
        self.width = int(width)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics, self.stateless_metrics = None, set(stateless_metrics)
        else:
            self.stateful_metrics, self.stateless_metrics = set(stateful_metrics or ()), None
        self._dynamic_display = _is_dynamic(sys.stdout)
        self._seen_so_far = 0
        self._values = {}  # name -> [weighted sum, weight]
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _is_stateless(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current, values=None, finalize=None):
        """Move the bar to step ``current`` with ``values`` = ``[(name, value_for_this_step), ...]``.

        ``finalize`` (default: ``current >= target``) marks the last update of this bar.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_stateless(name) and not finalize:
                span = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += _as_number(value) * span
                total[1] += span
            else:  # stateful, or the final value (already an epoch-level result)
                self._values[name] = [value, 1]
        self._seen_so_far = current
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            self._draw_live(current, finalize, now, time_per_unit)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            line += format_time_per_unit(time_per_unit, self.unit_name) + self._metrics_text()
            print_msg(line)
        self._last_update = now

    def add(self, n, values=None):
        """Advance the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # --- drawing ---------------------------------------------------------------------------
    def _draw_live(self, current, finalize, now, time_per_unit):
        if not self._dynamic_display and not finalize:
            return  # redirected output: only the finished line is written
        color = self._dynamic_display
        if self.target:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            done = min(max(int(self.width * current / self.target), 0), self.width)
            if color:
                bar = f"{_BOLD}{count}{_RESET} " + (f"{_GREEN}{'━' * done}{_RESET}" if done else "") + \
                      f"{_GREY}{'━' * (self.width - done)}{_RESET}"
            else:
                bar = f"{count} {'━' * done}{'─' * (self.width - done)}"
            plain_bar = f"{count} {'━' * self.width}"
        else:
            bar = plain_bar = "%7d/Unknown" % current
        if self.target and not finalize:
            timing = _format_eta(time_per_unit * (self.target - current))
        else:
            timing = f"{now - self._start:.0f}s"
        info = (f" {_BOLD}{timing}{_RESET}" if color else f" {timing}") + \
            format_time_per_unit(time_per_unit, self.unit_name) + self._metrics_text()
        plain_info = f" {timing}" + format_time_per_unit(time_per_unit, self.unit_name) + self._metrics_text()
        width = len(plain_bar) + len(plain_info)
        if self._dynamic_display:
            message = "\r" + bar + info
            if self._prev_total_width > width:
                message += " " * (self._prev_total_width - width)
        else:
            message = bar + info
        if finalize:
            message += "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = width

    def _metrics_text(self):
        text = ""
        for name in self._values_order:
            total, count = self._values[name]
            if isinstance(total, (list, tuple)) or getattr(total, "ndim", 0):
                import numpy as np
                total = float(np.mean(total))
            try:
                text += f" - {name}:" + _format_value(total / max(1, count) if count != 1 else total)
            except TypeError:
                text += f" - {name}: {total}"
        return text

    def _estimate_step_duration(self, current, now):
        """Seconds per step; the first step (compilation, warm-up) is left out once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per = (now - self._time_after_first_step) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per


def _as_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        import numpy as np
        return float(np.mean(value))


def _is_dynamic(stream):
    """A terminal or a notebook: the bar can be redrawn in place."""
    return bool((hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
                or "PYCHARM_HOSTED" in os.environ)
