"""The one progress bar style, for anything that moves bytes while people wait."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn


def byte_progress(console: Console) -> Progress:
    """A transient bar with bytes done/total and speed (total may be set later)."""
    return Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=console, transient=True)
