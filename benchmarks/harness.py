"""What the benchmark scripts share: running a client in its own process, and their README blocks.

Each client runs in its own process, so its CPU, wall time and peak RSS are its own. Every script
(``run.py``, ``change_only.py``, ``export.py``, ``objects.py``) starts its clients through
:func:`run_client`: a config file in, a result file out, the client's output in ``client.log``. The
client gets a clean environment — no ``AIRFLOW_*`` / ``PYTHON*`` variables of this shell — with its
own ``AIRFLOW_HOME``, the emulator as the ``hubspot_default`` connection, and ``PYTHONPATH``
pointing at this checkout, so it measures the code the benchmark runs from.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def client_env(run_dir: Path, *, url: str | None = None, token: str | None = None,
               conn_extra: dict[str, Any] | None = None) -> dict[str, str]:
    """A clean environment for a client; with ``url``, the emulator as ``hubspot_default``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
    env["PYTHONPATH"] = str(ROOT)
    env["AIRFLOW_HOME"] = str(run_dir / "airflow_home")
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    if url is not None:
        env["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps({"conn_type": "hubspot", "host": url, "password": token,
                                                          "extra": conn_extra or {}})
    return env


def run_client(script: Path, config: dict[str, Any], run_dir: Path, *, env: dict[str, str] | None = None,
               python: str | Path = sys.executable, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python script CONFIG RESULT`` in ``run_dir`` and return the result it wrote.

    :param env: the client's environment (default: :func:`client_env` without a connection).
    :raises RuntimeError: the client failed; the message ends with its log's tail.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path, result_path, log_path = run_dir / "config.json", run_dir / "result.json", run_dir / "client.log"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.run([str(python), str(script), str(config_path), str(result_path)],
                              env=env if env is not None else client_env(run_dir), cwd=script.parent, stdout=log,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if proc.returncode != 0 or not result_path.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{run_dir.name}: {script.name} exited with {proc.returncode}\n{tail}")
    return json.loads(result_path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def write_readme_block(readme: Path, begin: str, end: str, block: str, heading: str) -> None:
    """Replace the text from ``begin`` to ``end`` in ``readme`` by ``block`` (which holds both marks), or
    append ``block`` under ``## heading`` when the marks are not there yet."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n{block}\n"
    readme.write_text(text, encoding="utf-8")


def sustained_rate(stamps: list[float], window_requests: int, per_request: float) -> float | None:
    """Records per second over rolling spans of ``window_requests`` accepted requests.

    HubSpot's rule is "at most R requests in any window", i.e. accepted request k+R arrives at least one
    window after accepted request k. A client's steady rate is therefore R / mean(t[k+R] - t[k]) x records
    per request: it cannot exceed the bound (but for a few ms of latency jitter) and is not inflated by
    the first, free window of a run. ``None`` when no more than R requests were accepted (the window
    never filled, e.g. a ``--quick`` run).
    """
    stamps = sorted(stamps)
    if len(stamps) <= window_requests:
        return None
    spans = [stamps[k + window_requests] - stamps[k] for k in range(len(stamps) - window_requests)]
    return window_requests / statistics.fmean(spans) * per_request
