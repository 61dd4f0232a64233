"""The seed-coverage registry cannot drift: every method exists, every route is served, the doc is current."""

from __future__ import annotations

import re

import pytest

from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.client.leads import LeadsDiscontinuedError
from airflow_provider_hubspot.emulator.routes import build_router
from tests.unit.seed import render_table
from tests.unit.seed.registry import SEED_FILES, SEED_OPERATIONS

BINDINGS = [(op, b) for op in SEED_OPERATIONS for b in op.bindings]
ROUTER = build_router()


def _ids(item):
    op, binding = item
    return f"{op.name}:{binding.method}:{'/'.join(binding.editions)}"


def _resolve(client, dotted):
    target = client
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


@pytest.mark.parametrize("item", BINDINGS, ids=[_ids(i) for i in BINDINGS])
def test_method_exists_and_is_callable_in_its_editions(item):
    op, binding = item
    for version in binding.editions or ("2026-03",):
        client = HubSpotClient("t", base_url="http://127.0.0.1:9", api_version=version, developer_api_key="d")
        try:
            if op.discontinued:
                with pytest.raises(LeadsDiscontinuedError, match="2013-12-31"):
                    _resolve(client, binding.method)
            else:
                assert callable(_resolve(client, binding.method)), binding.method
        finally:
            client.close()


@pytest.mark.parametrize("item", BINDINGS, ids=[_ids(i) for i in BINDINGS])
def test_every_route_is_served_by_the_emulator(item):
    op, binding = item
    assert binding.routes, "every operation names its HubSpot path"
    for route in binding.routes:
        method, path = route.split(" ", 1)
        found, _, allowed = ROUTER.resolve(method, path.split("?")[0])
        if op.discontinued:  # answered 404, as HubSpot does
            assert found is None, f"{route} is discontinued by HubSpot but served by the emulator"
        else:
            assert found is not None, f"{route} is not served (other methods on this path: {allowed})"


def test_every_path_a_seed_file_names_is_in_the_table():
    table = render_table.render()
    for seed, description in SEED_FILES.items():
        for method, path in re.findall(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s)]+)", description):
            assert f"`{method} {path}" in table, f"{method} {path} (seed {seed}) is missing from the table"


def test_every_seed_file_is_covered():
    seeds = {s.strip() for op in SEED_OPERATIONS for s in op.seed.split(",")}
    assert seeds == set(SEED_FILES)


def test_doc_table_equals_the_rendered_registry():
    text = render_table.DOC.read_text(encoding="utf-8")
    assert render_table.table_in_doc(text) == render_table.render(), (
        "docs/seed-coverage.md is stale: run python -m tests.unit.seed.render_table")
