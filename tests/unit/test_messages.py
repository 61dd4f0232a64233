"""What users read (exceptions, log lines, docstrings shown by help() and the UI) names HubSpot's APIs, not
the project's internal documents: no "seed documents", "seed operations", "hubspot-api.md", ..."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_hubspot"

#: Internal words that mean nothing to a user. "seed" alone stays allowed: the emulator's ``--seed`` is a
#: random seed, and "seed data" is ordinary English.
BANNED = re.compile(
    r"seed documents?|seed operations?|of the seeds?\b|the seeds\b|seed coverage|"
    r"hubspot-api(?:-endpoints)?\.md|hubspot-crm-objects\.md|DESIGN\.md|shared/seeds|"
    r"\bthe brief\b|\bissue \d+|\[(?:S|DOC|INF|REC|SPEC)\]",
    re.IGNORECASE,
)


def _string_literals(path: Path):
    """Every string constant of a module (docstrings and f-string parts included), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _offences() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _string_literals(path):
            for match in BANNED.finditer(text):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {match.group(0)!r} in {text.strip()[:100]!r}")
    return found


def test_no_internal_jargon_in_the_packages_strings():
    assert _offences() == []


def test_no_internal_jargon_in_the_readme_and_example_dags():
    root = PACKAGE.parent
    for path in [root / "README.md", *sorted((root / "example_dags").glob("*.py"))]:
        assert not BANNED.findall(path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize("text", [
    "use 'v1' for the legacy endpoints of the seed documents",
    "The v1 paths are the seed operations",
    "Styles (hubspot-api.md §14):",
    "required by issue 10",
])
def test_the_scanner_catches_the_phrases_it_bans(text):
    assert BANNED.search(text)


@pytest.mark.parametrize("text", [
    "--seed N: replay the same faults",
    "seeds fault and latency randomness so a run can be replayed",
    "seed and inspect data",
    "HubSpot's v1 Contacts API",
])
def test_the_scanner_leaves_ordinary_words_alone(text):
    assert not BANNED.search(text)


def test_an_unknown_api_version_names_hubspots_apis():
    from airflow_provider_hubspot.client import HubSpotConfigError
    from airflow_provider_hubspot.client.editions import Edition

    with pytest.raises(HubSpotConfigError) as raised:
        Edition.parse("2")
    assert "seed" not in str(raised.value) and "HubSpot's v1 APIs" in str(raised.value)
