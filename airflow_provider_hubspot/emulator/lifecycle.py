"""Lifecycle-stage metrics: ``GET /contacts/search/v1/external/lifecyclestages``.

Counts live contacts whose ``hs_lifecyclestage_<stage>_date`` falls in ``[fromTimestamp,
toTimestamp]`` (both inclusive, epoch ms), one entry per option of ``lifecyclestage`` in option
order (zero counts included). Emulator choices (HubSpot's exact errors are UNCERTAIN): a missing or
non-numeric timestamp, ``toTimestamp < fromTimestamp``, a window longer than two years (731 days),
or an ``aggregationProperty`` that does not exist / is not an enumeration / has more than 20
options all answer 400 with a v1 error body. Aggregation buckets list the values present, by count
descending; multi-value (``a;b``) values count once per value.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .router import CONTACTS_READ, Request, Response, Router, json_response, v1_error

MAX_WINDOW_MS = 731 * 24 * 3600 * 1000
MAX_AGGREGATION_OPTIONS = 20


def _timestamp_param(req: Request, name: str) -> int:
    raw = req.arg(name)
    if raw in (None, ""):
        raise v1_error(400, f"{name} is required")
    try:
        return int(str(raw))
    except ValueError:
        raise v1_error(400, f"{name} must be a millisecond timestamp, got {raw!r}") from None


def lifecycle_stages(req: Request) -> Response:
    state = req.state
    start = _timestamp_param(req, "fromTimestamp")
    end = _timestamp_param(req, "toTimestamp")
    if end < start:
        raise v1_error(400, "toTimestamp must not be before fromTimestamp")
    if end - start > MAX_WINDOW_MS:
        raise v1_error(400, "The time between fromTimestamp and toTimestamp must be 2 years or less")
    agg = req.arg("aggregationProperty") or None
    if agg is not None:
        prop = state.schema.get(agg)
        if prop is None:
            raise v1_error(400, f'Property "{agg}" does not exist')
        if prop.type != "enumeration":
            raise v1_error(400, f"aggregationProperty {agg} must be an enumeration property")
        if len(prop.options) > MAX_AGGREGATION_OPTIONS:
            raise v1_error(
                400,
                f"aggregationProperty {agg} has {len(prop.options)} options; "
                f"at most {MAX_AGGREGATION_OPTIONS} are supported",
            )
    stages = list(state.schema["lifecyclestage"].options)
    date_props = [(stage, f"hs_lifecyclestage_{stage}_date") for stage in stages]
    counts: Counter[str] = Counter()
    buckets: dict[str, Counter[str]] = {stage: Counter() for stage in stages}
    for c in state.contact_type.iter_live():
        props = c.properties
        for stage, date_prop in date_props:
            raw = props.get(date_prop)
            if not raw:
                continue
            try:
                ts = int(raw)
            except ValueError:
                continue
            if start <= ts <= end:
                counts[stage] += 1
                if agg is not None:
                    value = props.get(agg)
                    if value:
                        for part in value.split(";"):
                            buckets[stage][part] += 1
    out: list[dict[str, Any]] = []
    for stage, date_prop in date_props:
        entry: dict[str, Any] = {"lifecycleStage": date_prop, "count": counts[stage]}
        if agg is not None:
            entry["aggregation"] = {
                "count": counts[stage],
                "aggregations": {
                    agg: [{"key": key, "count": n} for key, n in buckets[stage].most_common()],
                },
            }
        out.append(entry)
    return json_response(out)


def register(router: Router) -> None:
    router.add("GET", "/contacts/search/v1/external/lifecyclestages", lifecycle_stages, scopes=(CONTACTS_READ,))
