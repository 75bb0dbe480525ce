"""Printing the figures as a table and writing bench/results/latest.json and latest.png."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.measure import Figure

RESULTS = Path(__file__).resolve().parent / "results"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def print_table(figures: list[Figure]) -> None:
    for figure in figures:
        print(f"\n== {figure.name}: {figure.title}")
        for row in figure.rows:
            runs = f"(median of {len(row.samples)})" if len(row.samples) > 1 else ""
            print(f"  {row.label:<58} {_number(row.value):>10} {row.unit:<8} {runs} {row.note}")
        for ratio in figure.ratios:
            print(f"  ratio {ratio.label:<52} {_number(ratio.value):>10} x")
        for note in figure.notes:
            print(f"  note: {note}")


def write_json(figures: list[Figure], argv: list[str]) -> dict[str, Any]:
    """Update latest.json with these figures; figures not run now keep their last numbers.

    Each figure records the day and command of the run that measured it.
    Returns the whole document.
    """
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        document = {}
    document["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    stored = document.setdefault("figures", {})
    for figure in figures:
        stored[figure.name] = {
            "day": dt.datetime.now(dt.UTC).date().isoformat(),
            "command": ["python", "-m", "bench", *argv],
            **figure.as_json(),
        }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


def write_plot(document: dict[str, Any]) -> Path | None:
    """One bar chart of every ratio in latest.json (log scale).

    Returns None when matplotlib is not installed or there is no ratio.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    labels, values = [], []
    for name, figure in document.get("figures", {}).items():
        for ratio in figure.get("ratios", []):
            if ratio.get("value"):
                labels.append(f"{name}: {ratio['label']}")
                values.append(float(ratio["value"]))
    if not values:
        return None
    fig, axes = plt.subplots(figsize=(10, 0.4 * len(values) + 1.5))
    axes.barh(labels, values, color="#3b6ea5")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_xlabel("ratio (log scale; 1 = same as the baseline)")
    axes.invert_yaxis()
    for y, value in enumerate(values):
        axes.text(value, y, f" {value:.3g}", va="center", fontsize=8)
    fig.tight_layout()
    path = RESULTS / "latest.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
