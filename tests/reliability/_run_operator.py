"""Run one operator in a child process (killed mid-way by the tests, as a dying worker would be)."""

from __future__ import annotations

import importlib
import json
import sys


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    module, name = spec["operator"].rsplit(".", 1)
    operator = getattr(importlib.import_module(module), name)(task_id="child", **spec["kwargs"])
    operator.execute({"run_id": "child", "ti": None})


if __name__ == "__main__":
    main()
