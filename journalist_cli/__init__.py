"""`journalist`: the responders' command line.

Two halves that never meet on one machine:

- online (networked workstation): `fetch`, `push`, `status`. Holds only the
  delegated online key; moves ciphertext between the server and bundles.
- offline (air-gapped workstation): everything else. Holds the identity;
  never opens a socket (`journalist_cli.offline_guard`).

Bundles carry envelopes across the gap on removable media (FORMAT.md §8).
"""
