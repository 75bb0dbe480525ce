"""The systemd units in deploy/systemd/ against the code and docs they name.

Each unit's ExecStart must start something this repository ships (a `dropbox`
subcommand whose options parse, a gunicorn app factory that exists, the
pinned Onionbalance with arguments it accepts, tor with a torrc template that
exists); every service keeps the hardening baseline; control sockets agree
between a tor's torrc and the unit that talks to it; and every unit the deploy
README names exists (and every unit is documented there).
"""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest

from dropbox.cli import cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/drop/"  # where deploy/README.md installs the code
SERVICES = sorted(UNITS.glob("*.service"))
ALL_UNIT_FILES = sorted([*UNITS.glob("*.service"), *UNITS.glob("*.timer"), *UNITS.glob("*.conf")])
SYSTEM_UNITS = {"fstrim.timer"}  # Debian's own, named in the README's advice

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """Sections → (key, value) pairs in order (systemd allows repeated keys)."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not `Key=value` in a section"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"expected exactly one {key}= in [{section}], found {found}"
    return found[0]


def torrc_option(path: Path, option: str) -> str:
    matches = re.findall(rf"^{option}\s+(\S+)\s*$", path.read_text(encoding="utf-8"), re.M)
    assert len(matches) == 1, f"{path.name}: expected one {option} line, found {matches}"
    return str(matches[0])


def repo_path(installed: str) -> Path:
    assert installed.startswith(INSTALLED), f"{installed} is not under {INSTALLED}"
    return REPO / installed.removeprefix(INSTALLED)


def torrc_template(unit_path: Path, unit: Unit) -> Path:
    """The deploy/ template the unit's header says is installed as its `-f` torrc."""
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    installed = argv[argv.index("-f") + 1]
    header = unit_path.read_text(encoding="utf-8")
    named = re.search(rf"{re.escape(installed)}\s*\((deploy/[\w./-]+)\)", header)
    assert named, f"{unit_path.name}: the header must say which deploy/ file is {installed}"
    return REPO / named.group(1)


@pytest.mark.parametrize("path", ALL_UNIT_FILES, ids=lambda p: p.name)
def test_every_unit_file_parses(path: Path) -> None:
    unit = parse_unit(path)
    assert unit, f"{path.name} has no sections"
    assert set(unit) <= {"Unit", "Service", "Timer", "Install"}


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_exec_start_runs_something_this_repo_ships(path: Path) -> None:
    unit = parse_unit(path)
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    program = argv[0]
    if program == "/usr/bin/tor":
        assert torrc_template(path, unit).is_file()
    elif program == "/opt/drop/.venv/bin/dropbox":
        scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
        assert scripts["dropbox"] == "dropbox.cli:main"
        command = cli.commands.get(argv[1])
        assert command is not None, f"`dropbox {argv[1]}` does not exist"
        try:
            command.make_context(argv[1], argv[2:])  # parses the options, runs nothing
        except click.UsageError as error:
            pytest.fail(f"{path.name}: `dropbox {' '.join(argv[1:])}`: {error}")
    elif program == "/opt/drop/.venv/bin/gunicorn":
        config = repo_path(argv[argv.index("-c") + 1])
        assert config.is_file()
        module_name, _, factory = argv[-1].partition(":")
        assert factory.endswith("()"), "the units call an app factory"
        app_factory = getattr(importlib.import_module(module_name), factory[:-2], None)
        assert callable(app_factory), f"{path.name}: {argv[-1]} does not exist"
    elif program == "/opt/drop/.venv/bin/onionbalance":
        extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
        pins = extras["optional-dependencies"]["balance"]
        assert any(pin.startswith("onionbalance==") for pin in pins)
        assert argv[argv.index("-c") + 1] == "/etc/onionbalance/config.yaml"
        assert (DEPLOY / "onionbalance" / "config.yaml").is_file()
    else:
        pytest.fail(f"{path.name}: unknown program {program}")


def test_onionbalance_accepts_the_units_arguments() -> None:
    # The `balance` extra is in requirements/dev.lock, so it is always here.
    from onionbalance.common import argparser
    argv = shlex.split(one(parse_unit(UNITS / "drop-onionbalance.service"), "Service",
                           "ExecStart"))
    parsed = argparser.get_common_argparser().parse_args(argv[1:])
    assert parsed.socket == "/run/tor-ob/control.sock"
    assert parsed.config == "/etc/onionbalance/config.yaml"


HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "ProtectClock": "yes", "ProtectHostname": "yes", "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes", "SystemCallFilter": "@system-service",
    "SystemCallArchitectures": "native", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
}


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_every_service_keeps_the_hardening_baseline(path: Path) -> None:
    unit = parse_unit(path)
    for key, wanted in HARDENING.items():
        assert values(unit, "Service", key) == [wanted], f"{path.name}: {key}={wanted}"
    assert one(unit, "Service", "User") not in {"root", "0"}
    assert one(unit, "Service", "UMask") in {"0077", "0027"}
    families = set(one(unit, "Service", "RestrictAddressFamilies").split())
    assert families <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    if one(unit, "Service", "User") != "debian-tor":  # only tor talks to the Tor network
        assert values(unit, "Service", "IPAddressDeny") == ["any"] or families == {"AF_UNIX"}
        assert set(values(unit, "Service", "IPAddressAllow")) <= {"localhost"}


def test_control_sockets_agree_between_tors_and_their_clients() -> None:
    onions = parse_unit(UNITS / "drop-onions.service")
    control = dict(v.split("=", 1) for v in values(onions, "Service", "Environment"))
    drop_tor = parse_unit(UNITS / "drop-tor.service")
    for torrc in (torrc_template(UNITS / "drop-tor.service", drop_tor),
                  DEPLOY / "onionbalance" / "backend-torrc"):
        socket = torrc_option(torrc, "ControlSocket")
        assert socket == control["DROPBOX_TOR_CONTROL"], torrc.name
        assert torrc_option(torrc, "ControlSocketsGroupWritable") == "1"
        assert torrc_option(torrc, "CookieAuthFileGroupReadable") == "1"
        assert Path(socket).parent.name == one(drop_tor, "Service", "RuntimeDirectory")
    balance = shlex.split(one(parse_unit(UNITS / "drop-onionbalance.service"), "Service",
                              "ExecStart"))
    ob_tor = parse_unit(UNITS / "drop-ob-tor.service")
    frontend = torrc_template(UNITS / "drop-ob-tor.service", ob_tor)
    assert frontend == DEPLOY / "onionbalance" / "frontend-torrc"
    socket = torrc_option(frontend, "ControlSocket")
    assert balance[balance.index("-s") + 1] == socket
    assert torrc_option(frontend, "CookieAuthFileGroupReadable") == "1"
    assert Path(socket).parent.name == one(ob_tor, "Service", "RuntimeDirectory")
    assert "debian-tor" in one(parse_unit(UNITS / "drop-onionbalance.service"), "Service",
                               "SupplementaryGroups").split()


@pytest.mark.parametrize("path", ALL_UNIT_FILES, ids=lambda p: p.name)
def test_units_depend_only_on_units_that_exist(path: Path) -> None:
    unit = parse_unit(path)
    for key in ("Requires", "After", "Wants", "BindsTo"):
        for name in " ".join(values(unit, "Unit", key)).split():
            if name.startswith("drop"):
                assert (UNITS / name).is_file(), f"{path.name}: {key}={name} does not exist"
    if path.suffix == ".timer":
        target = values(unit, "Timer", "Unit") or [path.with_suffix(".service").name]
        assert (UNITS / target[0]).is_file()


def test_units_named_in_the_deploy_docs_exist_and_every_unit_is_documented() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b[\w-]+\.(?:service|timer)\b", readme)) - SYSTEM_UNITS
    shipped = {p.name for p in UNITS.iterdir() if p.suffix in {".service", ".timer"}}
    assert named, "deploy/README.md names no unit"
    assert named - shipped == set(), "named in deploy/README.md but not in deploy/systemd/"
    assert shipped - named == set(), "in deploy/systemd/ but not documented in deploy/README.md"
    for dropin in UNITS.glob("*.conf"):
        assert dropin.name in readme, f"{dropin.name} is not documented in deploy/README.md"


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_units_using_the_instance_wait_for_its_mount(path: Path) -> None:
    """On several backends the instance is a network mount; a unit must not start without it."""
    unit = parse_unit(path)
    env = dict(v.split("=", 1) for v in values(unit, "Service", "Environment"))
    if "DROPBOX_INSTANCE" in env:
        assert values(unit, "Unit", "RequiresMountsFor") == [env["DROPBOX_INSTANCE"]], \
            f"{path.name}: add RequiresMountsFor={env['DROPBOX_INSTANCE']} to [Unit]"


def test_the_remote_database_dropin_only_widens_the_address_allowlist() -> None:
    dropin = parse_unit(UNITS / "remote-database.conf")
    assert set(dropin) == {"Service"}
    assert [k for k, _ in dropin["Service"]] == ["IPAddressAllow"]
    assert "any" not in one(dropin, "Service", "IPAddressAllow")
