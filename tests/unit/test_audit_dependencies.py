"""The supply-chain check's judgement, on reports shaped like pip-audit's and npm's.

The tools themselves need a vulnerability database this machine cannot reach
(`make audit` runs them for real); these tests pin what the check makes of
their answers: findings fail unless justified, stale justifications fail,
and "could not look anything up" is never a pass unless explicitly allowed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.audit_dependencies import (
    Finding,
    Unreachable,
    load_exceptions,
    parse_npm_report,
    parse_pip_report,
    verdict,
)

PIP_WITH_VULN = json.dumps({"dependencies": [
    {"name": "flask", "version": "0.12", "vulns": [
        {"id": "PYSEC-2018-66", "fix_versions": ["0.12.3"], "aliases": [], "description": "x"}]},
    {"name": "pynacl", "version": "1.6.2", "vulns": []},
], "fixes": []})
PIP_NOTHING_AUDITED = json.dumps({"dependencies": [
    {"name": "pynacl", "version": "1.6.2",
     "skip_reason": "Dependency not found on PyPI and could not be audited: pynacl (1.6.2)"},
], "fixes": []})
NPM_405 = json.dumps({"message": "405 Method Not Allowed - POST .../advisories/bulk"})
NPM_WITH_VULN = json.dumps({"vulnerabilities": {"esbuild": {
    "name": "esbuild", "severity": "moderate", "range": "<=0.24.2",
    "via": [{"source": 1102341, "url": "https://github.com/advisories/GHSA-67mh-4wv8-2f99"}]}}})
FLASK = Finding("pypi", "flask", "0.12", "PYSEC-2018-66")


def test_pip_vulnerability_is_a_finding() -> None:
    assert parse_pip_report(PIP_WITH_VULN, "", "dev.lock") == [FLASK]


def test_pip_that_looked_up_nothing_is_unreachable_not_clean() -> None:
    with pytest.raises(Unreachable, match="1 of 1 packages"):
        parse_pip_report(PIP_NOTHING_AUDITED, "", "dev.lock")
    with pytest.raises(Unreachable, match="no packages"):
        parse_pip_report(json.dumps({"dependencies": [], "fixes": []}), "", "dev.lock")
    with pytest.raises(Unreachable):
        parse_pip_report("", "connection refused", "dev.lock")


def test_pip_that_skipped_one_package_is_not_a_pass() -> None:
    partial = json.loads(PIP_WITH_VULN)
    partial["dependencies"][0] = {"name": "flask", "version": "0.12",
                                  "skip_reason": "network timeout"}
    with pytest.raises(Unreachable, match="1 of 2 packages"):
        parse_pip_report(json.dumps(partial), "", "dev.lock")


def test_npm_endpoint_error_is_unreachable() -> None:
    with pytest.raises(Unreachable, match="405"):
        parse_npm_report(NPM_405, "")


def test_npm_vulnerability_is_a_finding() -> None:
    assert parse_npm_report(NPM_WITH_VULN, "") == [Finding(
        "npm", "esbuild", "<=0.24.2", "https://github.com/advisories/GHSA-67mh-4wv8-2f99")]


def test_unjustified_finding_fails_even_offline_ok() -> None:
    assert verdict([FLASK], {}, [], offline_ok=True) == 1


def test_justified_finding_passes() -> None:
    assert verdict([FLASK], {("flask", "PYSEC-2018-66"): "not reachable"}, [],
                   offline_ok=False) == 0


def test_stale_justification_fails() -> None:
    assert verdict([], {("flask", "PYSEC-2018-66"): "fixed long ago"}, [], offline_ok=False) == 1


def test_unreachable_fails_unless_offline_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert verdict([], {}, ["npm audit failed"], offline_ok=False) == 2
    assert verdict([], {}, ["npm audit failed"], offline_ok=True) == 0
    assert "NOT AUDITED" in capsys.readouterr().out


def test_exception_without_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit-exceptions.toml"
    path.write_text('[[exception]]\npackage = "flask"\nid = "PYSEC-2018-66"\nreason = " "\n')
    with pytest.raises(SystemExit, match="no reason"):
        load_exceptions(path)


def test_committed_exceptions_file_parses() -> None:
    assert isinstance(load_exceptions(), dict)
