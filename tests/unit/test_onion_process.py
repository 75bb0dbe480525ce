"""Child processes of the drop die with it; a missing tor is one clear sentence."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from dropbox.onion_errors import TorNotInstalled
from dropbox.tor_process import find_tor, free_ports

PARENT = """
import subprocess, sys
from dropbox.tor_process import die_with_parent
child = subprocess.Popen(["sleep", "120"], preexec_fn=die_with_parent)
print(child.pid, flush=True)
sys.stdin.read()
"""


def test_missing_tor_says_how_to_install_it() -> None:
    with pytest.raises(TorNotInstalled, match=r"apt-get install tor"):
        find_tor("tor-binary-that-does-not-exist")


def test_a_child_dies_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdin is not None
    child = int(parent.stdout.readline())
    os.kill(child, 0)  # alive while the parent is
    parent.kill()
    parent.wait()
    parent.stdout.close()
    parent.stdin.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return  # gone: reaped by init after the kernel's SIGKILL
        # A zombie still answers kill(0); it is dead once its state is Z.
        with open(f"/proc/{child}/stat") as stat:
            if stat.read().split(") ", 1)[1].startswith("Z"):
                return
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.05)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
    assert all(1024 <= port < 65536 for port in ports)
