"""`python -m bench [--full] [--runs N] [FIGURE...]`: run the figures, print, write results."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from bench.measure import Figure, Options, not_measured
from bench.report import RESULTS, print_table, write_json, write_plot

FIGURES = ("seal", "small", "login", "browser", "cli", "tor", "storage")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("figures", nargs="*", choices=[[], *FIGURES], metavar="FIGURE",
                        help=f"which figures to run (default: all): {', '.join(FIGURES)}")
    parser.add_argument("--full", action="store_true",
                        help="the large sizes (500 MB upload, 10 000 reports)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)
    options = Options(full=args.full, runs=max(1, args.runs))
    figures: list[Figure] = []
    for name in args.figures or FIGURES:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        module = importlib.import_module(f"bench.fig_{name}")
        try:
            figures.append(module.measure(options))
        except Exception as error:  # one broken figure must not lose the others' numbers
            traceback.print_exc()
            figures.append(not_measured(name, module.TITLE, f"{type(error).__name__}: {error}"))
        print(f"  {name}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    print_table(figures)
    document = write_json(figures, argv)
    print(f"\nwrote {RESULTS / 'latest.json'} (figures not run now keep their last numbers)")
    plot = write_plot(document)
    print(f"wrote {plot}" if plot
          else "no plot: no ratio measured, or matplotlib missing (the `bench` extra)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
