"""Seconds each test file takes, read from a pytest JUnit XML report: the order in which
``make test`` hands files to its workers (the longest first; see conftest.py).

    python tests/file_durations.py report.xml > tests/file_durations.json

``make test-durations`` runs the suite and rewrites the file.
"""

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def file_seconds(report: str) -> dict[str, float]:
    """``{"tests/test_x.py": seconds}`` summed over the file's test cases."""
    seconds: dict[str, float] = defaultdict(float)
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        # classname is "tests.test_x" or "tests.test_x.TestClass"
        name = next((i for i, part in enumerate(module) if part.startswith("test_")), None)
        if name is None:
            continue
        seconds["/".join(module[:name + 1]) + ".py"] += float(case.get("time") or 0)
    return {path: round(s, 1) for path, s in sorted(seconds.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/file_durations.py REPORT.xml > tests/file_durations.json")
    print(json.dumps(file_seconds(sys.argv[1]), indent=1))
