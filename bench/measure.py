"""What every figure measures with: medians, results, a worker-RSS sampler, a pattern source."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped]

MB = 1_000_000
MiB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    """Command-line choices every figure sees."""

    full: bool
    runs: int


@dataclass
class Row:
    """One measured quantity: `value` in `unit`, with the runs it is the median of."""

    label: str
    value: float | None
    unit: str
    samples: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Ratio:
    """`numerator / denominator` of two rows of the same figure, measured in the same run."""

    label: str
    value: float | None


@dataclass
class Figure:
    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measured: bool = True

    def add(self, label: str, samples: Iterable[float], unit: str, note: str = "") -> Row:
        values = list(samples)
        row = Row(label, statistics.median(values) if values else None, unit, values, note)
        self.rows.append(row)
        return row

    def ratio(self, label: str, numerator: Row, denominator: Row) -> None:
        ok = numerator.value is not None and denominator.value
        value = numerator.value / denominator.value if ok else None  # type: ignore[operator]
        self.ratios.append(Ratio(label, value))

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title, "measured": self.measured, "notes": self.notes,
            "rows": [r.__dict__ for r in self.rows],
            "ratios": [r.__dict__ for r in self.ratios],
        }


def not_measured(name: str, title: str, reason: str) -> Figure:
    figure = Figure(name, title, measured=False)
    figure.notes.append(f"not measured: {reason}")
    return figure


def repeat(runs: int, once: Callable[[], float]) -> list[float]:
    return [once() for _ in range(runs)]


class PeakRss:
    """Samples the RSS of `pids()` every 20 ms; `peak` is the largest single-process value."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids():
                try:
                    self.peak = max(self.peak, psutil.Process(pid).memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
