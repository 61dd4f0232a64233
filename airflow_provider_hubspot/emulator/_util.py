"""Small helpers shared by the emulator modules (time, ids, JSON)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

#: Portal (account) id reported in every payload that carries one.
PORTAL_ID = 62515

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def dumps(data: Any) -> bytes:
    """Serialise ``data`` compactly as UTF-8 JSON."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso_from_ms(ms: int | float) -> str:
    """Render epoch milliseconds as ``2019-10-30T03:30:17.883Z``."""
    dt = datetime.fromtimestamp(int(ms) / 1000.0, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def parse_timestamp_ms(value: Any) -> int | None:
    """Parse epoch milliseconds (int or digit string) or an ISO-8601 string; ``None`` if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        as_float = float(text)
    except ValueError:
        pass
    else:
        if as_float == as_float and abs(as_float) != float("inf"):  # not NaN / inf
            return int(as_float)
        return None
    match = _ISO_RE.match(text)
    if not match:
        return None
    try:
        iso = text.replace("Z", "+00:00").replace(" ", "T")
        if match.group(4) is None:
            dt = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=timezone.utc)
        else:
            dt = datetime.fromisoformat(iso)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return round(dt.timestamp() * 1000)


def lead_guid(vid: int) -> str:
    """Deterministic LEAD_GUID identity for a contact."""
    return f"{vid:08x}-0000-4000-8000-{vid:012x}"
