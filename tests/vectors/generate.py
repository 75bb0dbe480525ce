"""Generate the drop/v1 test vectors: `python tests/vectors/generate.py`.

Deterministic: every random-looking byte comes from SHAKE-256 of a fixed
label, so running this again rewrites identical files. Envelopes are built
here from libsodium primitives directly (not through `keys.envelope`), so the
vectors check the implementation rather than restate it. See README.md.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from envelope_vectors import envelope_cases  # noqa: E402
from message_vectors import message_cases  # noqa: E402
from signature_vectors import signature_cases  # noqa: E402
from text_vectors import codename_cases, keystring_cases  # noqa: E402


def render(kind: str, name: str, headers: list[tuple[str, str]], body: bytes) -> str:
    for key, value in headers:
        if not value.isascii() or not value.isprintable() or not key.replace("-", "").isalnum():
            raise ValueError(f"{name}: header {key!r} cannot be written on one line")
    lines = [f"kind: {kind}", *(f"{k}: {v}" for k, v in headers)]
    return "\n".join(lines) + "\n\n" + base64.b64encode(body).decode("ascii") + "\n"


# cases/: what every implementation, the browser's included, must pass.
# signatures/: §6 and §7, for implementations that verify signatures (the
# server and the CLI; the browser does not).
GROUPS = {
    HERE / "cases": (("envelope", envelope_cases), ("codename", codename_cases),
                     ("keystring", keystring_cases), ("message", message_cases)),
    HERE / "signatures": (("signature", signature_cases),),
}


def main() -> None:
    count = 0
    digest = hashlib.sha256()
    for directory, groups in GROUPS.items():
        directory.mkdir(exist_ok=True)
        for stale in directory.glob("*.txt"):
            stale.unlink()
        names: set[str] = set()
        for kind, make_cases in groups:
            for name, headers, body in make_cases():
                file_name = f"{kind}-{name}.txt"
                if file_name in names:
                    raise ValueError(f"duplicate vector name {file_name}")
                names.add(file_name)
                (directory / file_name).write_text(render(kind, name, headers, body), "ascii")
        for file_name in sorted(names):
            digest.update((directory / file_name).read_bytes())
        count += len(names)
    print(f"wrote {count} vectors (sha256 of all: {digest.hexdigest()[:16]})")


if __name__ == "__main__":
    main()
