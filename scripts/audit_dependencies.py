"""Supply-chain check: known vulnerabilities in the locked Python and npm dependencies.

Runs `pip-audit` on every lock file in requirements/ (hash-checked, no
resolution: exactly what we install) and `npm audit` on package-lock.json,
then compares what they report with requirements/audit-exceptions.toml, the
one place where a known vulnerability may be accepted, each with a reason.

Exit status:
  0  every dependency was audited and every finding is justified;
  1  a finding is not justified (or an exception no longer matches anything,
     so stale justifications cannot pile up);
  2  a vulnerability database could not be reached, so nothing was audited.
     This is never reported as a pass. `--offline-ok` turns it into exit 0
     with a loud "NOT AUDITED" line, for machines that have no route to the
     databases (see .ci/run); a networked release machine must not use it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = (ROOT / "requirements" / "dev.lock", ROOT / "requirements" / "workstation.lock")
EXCEPTIONS = ROOT / "requirements" / "audit-exceptions.toml"
PIP_AUDIT = ROOT / ".venv" / "bin" / "pip-audit"


@dataclass(frozen=True)
class Finding:
    ecosystem: str
    package: str
    version: str
    vuln_id: str


class Unreachable(Exception):
    """No vulnerability database answered: nothing was audited."""


def pip_findings(lock: Path) -> list[Finding]:
    """Audit one hash-pinned lock file; raises Unreachable if no package could be looked up."""
    run = subprocess.run(
        [str(PIP_AUDIT), "-r", str(lock), "--disable-pip", "--no-deps", "--format", "json",
         "--progress-spinner", "off"],
        capture_output=True, text=True, timeout=600, check=False)
    return parse_pip_report(run.stdout, run.stderr, lock.name)


def parse_pip_report(stdout: str, stderr: str, lock_name: str) -> list[Finding]:
    """Findings in pip-audit's JSON; raises Unreachable when it audited nothing."""
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError as error:
        raise Unreachable(f"pip-audit gave no report for {lock_name}: {stderr.strip()[-300:]}") \
            from error
    deps = report.get("dependencies", [])
    if not deps:
        raise Unreachable(f"pip-audit listed no packages for {lock_name}")
    # One package that could not be looked up is one package not audited.
    skipped = [d for d in deps if "skip_reason" in d]
    if skipped:
        raise Unreachable(f"pip-audit could not look up {len(skipped)} of {len(deps)} "
                          f"packages in {lock_name} (first: {skipped[0]['skip_reason']})")
    return [Finding("pypi", d["name"], d["version"], v["id"])
            for d in deps for v in d.get("vulns", [])]


def npm_findings() -> list[Finding]:
    """Audit package-lock.json; raises Unreachable if the registry's audit endpoint fails."""
    run = subprocess.run(["npm", "audit", "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, check=False)
    return parse_npm_report(run.stdout, run.stderr)


def parse_npm_report(stdout: str, stderr: str) -> list[Finding]:
    """Findings in `npm audit --json`; raises Unreachable when the audit endpoint failed."""
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError as error:
        raise Unreachable(f"npm audit gave no report: {stderr.strip()[-300:]}") from error
    if "vulnerabilities" not in report:
        raise Unreachable(f"npm audit failed: {report.get('message') or report.get('error')}")
    findings = []
    for name, entry in report["vulnerabilities"].items():
        for via in entry.get("via", []):
            if isinstance(via, dict):
                ident = str(via.get("url") or via.get("source"))
                findings.append(Finding("npm", name, str(entry.get("range", "")), ident))
    return findings


def load_exceptions(path: Path = EXCEPTIONS) -> dict[tuple[str, str], str]:
    """(package, vulnerability id) -> reason; exits if an entry carries no reason."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    accepted = {}
    for entry in data.get("exception", []):
        if not str(entry.get("reason", "")).strip():
            raise SystemExit(f"{path.name}: exception {entry} has no reason")
        accepted[(entry["package"].lower(), entry["id"])] = entry["reason"]
    return accepted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline-ok", action="store_true",
                        help="exit 0 (loudly NOT AUDITED) when no database can be reached")
    args = parser.parse_args()
    accepted = load_exceptions()
    findings: list[Finding] = []
    unreachable: list[str] = []
    for lock in LOCKS:
        try:
            findings += pip_findings(lock)
        except Unreachable as error:
            unreachable.append(str(error))
    try:
        findings += npm_findings()
    except Unreachable as error:
        unreachable.append(str(error))

    return verdict(findings, accepted, unreachable, offline_ok=args.offline_ok)


def verdict(findings: list[Finding], accepted: dict[tuple[str, str], str],
            unreachable: list[str], *, offline_ok: bool) -> int:
    """Print the outcome and return the exit status documented in the module docstring."""
    unjustified = [f for f in findings if (f.package.lower(), f.vuln_id) not in accepted]
    used = {(f.package.lower(), f.vuln_id) for f in findings}
    stale = [key for key in accepted if key not in used] if not unreachable else []
    for f in findings:
        verdict = "justified" if f not in unjustified else "NOT JUSTIFIED"
        print(f"audit: {f.ecosystem} {f.package} {f.version}: {f.vuln_id} ({verdict})")
    for package, ident in stale:
        print(f"audit: exception for {package} {ident} matches nothing: remove it")
    if unjustified or stale:
        return 1
    if unreachable:
        for line in unreachable:
            print(f"audit: NOT AUDITED: {line}")
        if offline_ok:
            print("audit: NOT AUDITED (--offline-ok): run `make audit` on a networked machine "
                  "before a release")
            return 0
        return 2
    print(f"audit: {len(LOCKS)} Python lock files and package-lock.json audited: "
          f"{len(findings)} known vulnerabilities, all justified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
