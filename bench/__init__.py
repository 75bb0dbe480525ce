"""`make bench` (`python -m bench`): the drop's costs measured side by side with baselines.

Each figure is a module (`bench.fig_*`) with a `measure(options) -> Figure`;
`python -m bench NAME...` runs only those. See bench/README.md.
"""
