"""First-run keys for trying the drop on one machine: `./workstation-DEMO-KEYS/`.

The server never creates or holds a responder identity: the identity is made
by the journalist CLI (`journalist keygen`, run as a separate process), in a
directory whose name says what it is; the server only adds its public key to
the keyring. Real deployments run `journalist keygen` on the air-gapped
workstation and `dropbox keys add` on the server.
"""

from __future__ import annotations

import os
import secrets
import subprocess  # nosec B404 # fixed argv only, never a shell
import sys
from dataclasses import dataclass
from pathlib import Path

from dropbox.keyring import Keyring
from dropbox.onion_auth import ClientAuthKeyPair, write_private_file

DEMO_DIR = Path("workstation-DEMO-KEYS")
CLIENT_AUTH_FILE = "responder-onion-client.key"
PUBLIC_KEY_FILE = "public-key.txt"
DEMO_NAME = "Demo responder (workstation-DEMO-KEYS)"
WARNING = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  DEMO KEYS ONLY. A responder identity was just created in
!!    {home}
!!  on THIS machine, next to the server. That is fine for trying the drop and
!!  for nothing else. A real deployment generates the identity on the
!!  air-gapped workstation (`journalist keygen`) and gives the server only
!!  its public key (`dropbox keys add`). Delete this directory before real use.
!!  Passphrase of the demo identity: {passphrase}
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""


class DemoKeysError(Exception):
    """The demo identity could not be created with the journalist CLI."""


@dataclass(frozen=True)
class DemoIdentity:
    home: Path
    public_key: str
    passphrase: str | None  # None: made earlier, for another instance

    def warning(self) -> str:
        return WARNING.format(home=self.home,
                              passphrase=self.passphrase or "(the one shown when it was made)")


def create_demo_identity(keyring_path: Path, home: Path = DEMO_DIR) -> DemoIdentity | None:
    """When the keyring is empty: `journalist keygen` in `home`, add its public key.

    Returns None when the keyring already has a responder. The passphrase comes
    from $DROPBOX_DEMO_PASSPHRASE or is generated. Raises DemoKeysError.
    """
    keyring = Keyring.load(keyring_path)
    if keyring.entries:
        return None
    home = home.absolute()
    public_file = home / PUBLIC_KEY_FILE
    if (home / "identity.key").exists() and public_file.exists():  # made for another instance
        public_key = public_file.read_text(encoding="ascii").strip()
        keyring.add(DEMO_NAME, public_key)
        keyring.save()
        return DemoIdentity(home=home, public_key=public_key, passphrase=None)
    passphrase = os.environ.get("DROPBOX_DEMO_PASSPHRASE") or "-".join(
        secrets.token_hex(3) for _ in range(4))
    env = {**os.environ, "JOURNALIST_PASSPHRASE": passphrase}
    done = subprocess.run(  # noqa: S603 # nosec B603 # our own CLI, fixed argv
        [sys.executable, "-c", "from journalist_cli.main import main; main()",
         "--home", str(home), "keygen"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    public = [line for line in done.stdout.splitlines() if line.startswith("drop-pub-")]
    if done.returncode != 0 or not public:
        raise DemoKeysError(f"`journalist keygen` failed: {done.stderr.strip() or done.stdout}")
    keyring.add(DEMO_NAME, public[0])
    keyring.save()
    write_private_file(public_file, public[0] + "\n")
    return DemoIdentity(home=home, public_key=public[0], passphrase=passphrase)


def demo_client_auth(home: Path = DEMO_DIR) -> ClientAuthKeyPair | None:
    """The demo workstation's responder-onion key, if one was made earlier."""
    path = home.absolute() / CLIENT_AUTH_FILE
    if not path.exists():
        return None
    return ClientAuthKeyPair.from_private_base32(path.read_text(encoding="ascii").strip())


def store_demo_client_auth(pair: ClientAuthKeyPair, home: Path = DEMO_DIR) -> Path:
    """Keep the private half with the demo workstation files (0600)."""
    path = home.absolute() / CLIENT_AUTH_FILE
    write_private_file(path, pair.private_base32 + "\n")
    return path
