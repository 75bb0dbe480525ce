"""`python -m journalist_cli.backup_open`: open a server backup for `dropbox restore`.

Restoring a backup needs a responder identity, and the server package never
loads one. `dropbox restore` therefore runs this module as a child process:
it loads the identity (passphrase from $JOURNALIST_PASSPHRASE or a prompt on
the terminal), decrypts the backup envelope and writes the archive to stdout
only after the final chunk authenticated (keys.decrypt). Plaintext beyond
1 MiB is staged in an unnamed temp file in `--spool` (the instance dir's
staging directory). Exit codes as for `journalist`: 0 done, 1 error, 4 crypto.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import keys
from keys.identity_file import load_identity


def _passphrase() -> str:
    from_env = os.environ.get("JOURNALIST_PASSPHRASE")
    if from_env is not None:
        return from_env
    return getpass.getpass("Passphrase of the responder identity: ")


def main(argv: list[str] | None = None) -> int:
    """Decrypt the backup named in `argv` to stdout; returns the exit code."""
    parser = argparse.ArgumentParser(prog="journalist_cli.backup_open")
    parser.add_argument("--identity", required=True)
    parser.add_argument("--spool", required=True)
    parser.add_argument("backup")
    args = parser.parse_args(argv)
    try:
        identity = load_identity(args.identity, _passphrase())
        with open(args.backup, "rb") as src:
            keys.decrypt(src, sys.stdout.buffer, identity, spool_dir=args.spool)
        sys.stdout.buffer.flush()
    except keys.KeysError as error:
        print(f"journalist: error: {error}", file=sys.stderr)
        return 4
    except (OSError, EOFError) as error:
        print(f"journalist: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
