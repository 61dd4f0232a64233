"""Packaging metadata a user sees: the license file, the project URLs, and what Airflow's providers page
shows (its "Documentation" link and the description's links)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from airflow_provider_hubspot.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_license_file_is_the_apache_2_license_the_metadata_declares(project):
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert re.match(r"\s*Apache License\s+Version 2\.0, January 2004\s+http://www\.apache\.org/licenses/", text)
    for section in ["1. Definitions.", "2. Grant of Copyright License.", "3. Grant of Patent License.",
                    "4. Redistribution.", "5. Submission of Contributions.", "6. Trademarks.",
                    "7. Disclaimer of Warranty.", "8. Limitation of Liability.",
                    "9. Accepting Warranty or Additional Liability.", "END OF TERMS AND CONDITIONS"]:
        assert section in text


def test_project_urls_are_absolute_and_include_the_documentation(project):
    urls = project["urls"]
    assert {"Homepage", "Documentation"} <= set(urls)
    for url in urls.values():
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc, url


def _airflow_documentation_url(project_urls: dict[str, str]) -> str | None:
    """What Airflow's provider discovery does with the distribution's ``Project-URL`` lines (3.x and 2.11)."""
    for entry in (f"{name}, {url}" for name, url in project_urls.items()):
        name, _, url = entry.partition(",")
        if name.strip().lower() == "documentation":
            return url.strip()
    return None


def test_airflows_providers_page_links_our_documentation(project):
    info = get_provider_info()
    documentation = _airflow_documentation_url(project["urls"])
    assert documentation, "without a Documentation URL Airflow links to a page of its own site"
    assert "airflow.apache.org" not in documentation
    assert info["documentation-url"] == documentation


def _description_as_airflow_3_shows_it(description: str) -> str:
    try:
        from airflow.api_fastapi.core_api.services.public.providers import _remove_rst_syntax
    except ImportError:  # Airflow 2.11: the same transformation, as 3.x does it
        def _remove_rst_syntax(value: str) -> str:
            return re.sub("[`_<>]", "", value.strip(" \n."))
    return _remove_rst_syntax(description)


def test_the_descriptions_links_end_cleanly():
    description = get_provider_info()["description"]
    rst_links = re.findall(r"<([^<>]+)>`__(.?)", description)
    assert rst_links, "the description links HubSpot"
    for url, after in rst_links:  # Airflow 2.11 renders these as <a href>
        assert not re.search(r"[.,;:!?)\]'\"]$", url), url
        assert after in ("", " ", "\n"), f"{url} is followed by {after!r}"
    shown = _description_as_airflow_3_shows_it(description)  # Airflow 3 strips the markup: bare URLs
    urls = re.findall(r"https?://\S+", shown)
    assert urls
    for url in urls:
        assert not re.search(r"[.,;:!?)\]'\"]$", url), f"{url!r} in {shown!r}"
