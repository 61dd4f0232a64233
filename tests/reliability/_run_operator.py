"""Run one operator in a child process (killed mid-way by the tests, as a dying worker would be)."""

from __future__ import annotations

import importlib
import json
import sys


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    if spec.get("sigterm_raises"):  # as Airflow's task runner: SIGTERM raises in the task (on_kill, clean-up)
        import signal

        def terminated(signum: int, frame: object) -> None:
            raise SystemExit("terminated by SIGTERM")

        signal.signal(signal.SIGTERM, terminated)
    module, name = spec["operator"].rsplit(".", 1)
    operator = getattr(importlib.import_module(module), name)(task_id="child", **spec["kwargs"])
    operator.execute({"run_id": "child", "ti": None})


if __name__ == "__main__":
    main()
