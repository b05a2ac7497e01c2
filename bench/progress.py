"""A small progress bar on stderr (no dependency):

    [#########.....................] 7/20  31%  2m10s left  resnet50 batch 8 threads 1: ferry

Steps carry weights (the driver weighs a measurement by runs x batch), so the percentage and
the time left follow the work rather than the step count. On a terminal the bar redraws in
place; otherwise (logs, CI) it prints one line per finished step.
"""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Progress over `steps` steps whose weights add up to `total_weight`."""

    def __init__(self, steps: int, total_weight: float, width: int = 30, stream=None) -> None:
        self.steps = steps
        self.total = max(total_weight, 1e-9)
        self.width = width
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.finished = 0
        self.finished_weight = 0.0
        self.weight = 0.0  # of the current step
        self.fraction = 0.0  # of the current step done
        self.label = ""
        self.start = time.monotonic()

    def line(self) -> str:
        frac = min(1.0, (self.finished_weight + self.weight * self.fraction) / self.total)
        filled = int(round(frac * self.width))
        elapsed = time.monotonic() - self.start
        left = f"{_duration(elapsed / frac - elapsed)} left" if frac > 0 else "--"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.finished}/{self.steps} "
                f"{frac * 100:3.0f}%  {left}  {self.label}")

    def begin(self, weight: float, label: str) -> None:
        """Starts a step of this weight."""
        self.weight, self.fraction, self.label = weight, 0.0, label
        self._draw()

    def set_label(self, label: str) -> None:
        self.label = label
        self._draw()

    def within(self, fraction: float) -> None:
        """How far the current step is, 0..1."""
        self.fraction = max(0.0, min(1.0, fraction))
        self._draw()

    def step_done(self, message: str = "", weight: float | None = None) -> None:
        """Finishes the current step (or skips steps of total `weight` when given)."""
        self.finished += 1
        self.finished_weight += self.weight if weight is None else weight
        self.weight = self.fraction = 0.0
        if self.tty:
            self._draw()
        else:
            self.stream.write(self.line() + (f"  {message}" if message else "") + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()
