"""Shared fixtures: one Ray instance for the whole test session."""

import json
import os
import statistics
from pathlib import Path

import pytest

# Remote Ray workers must import test modules (callbacks defined in tests).
_TESTS = str(Path(__file__).parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_TESTS, os.environ.get("PYTHONPATH")) if p)

# One torch thread per process. The tests' networks are tiny, and the suite runs two
# pytest workers beside Ray actors on two cores: torch's default (a thread per core) only
# adds threads that spin while waiting, and doubled the CPU time of in-process training
# for no gain in wall time when measured (PPO CartPole, 5 iterations: 22.3 s CPU for
# 11.7 s with 2 threads, 11.0 s for 11.0 s with 1). Subprocesses and Ray workers
# inherit it; torch reads it when first imported, which is after this file.
for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Where tests/break_hooks.py's record_to_file writes, in a Ray worker too: this session's
# own file (Ray's workers inherit the environment the session's Ray starts with).
os.environ["RLDEBUG_TEST_HOOK_FILE"] = str(
    Path(__import__("tempfile").mkdtemp(prefix="rldebug-hooks-")) / "calls.txt")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


# The harness's own frames (execnet's ``<string>`` bootstrap and xdist's ``remote.py``
# under pytest-xdist, ``<frozen runpy>`` under ``python -m pytest`` and runpy-run
# recipes) belong to no module, and made each RLlib ConnectorV2 rescan sys.modules
# (rldebug/inprocess/frames.py): 28 % of the workers' CPU in the probe, recipe and
# verify-fix tests, measured. rldebug debug does the same for its runpy frames.
from rldebug.inprocess.frames import remember_frames_without_module

remember_frames_without_module(extra_files=("<frozen runpy>", "<string>"))


# make test hands whole files to two workers, in collection order (--dist loadfile
# --no-loadscope-reorder): the longest files go first so both workers end together.
# tests/file_durations.json holds each file's seconds from a real run (make test-durations).
_DURATIONS = Path(__file__).with_name("file_durations.json")


def pytest_collection_modifyitems(config, items):
    seconds = json.loads(_DURATIONS.read_text()) if _DURATIONS.is_file() else {}
    unknown = statistics.median(seconds.values()) if seconds else 0.0
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::")[0], index)

    def heaviest_first(item):
        path = item.nodeid.split("::")[0]
        return -seconds.get(path, unknown), first_seen[path]

    items.sort(key=heaviest_first)  # stable: a file's tests keep their order


@pytest.fixture(scope="session", autouse=True)
def ray_instance():
    """Start Ray once, lightly, with enough logical CPUs for 2 remote EnvRunners."""
    import ray

    from rldebug import start_ray

    start_ray(num_cpus=4)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def no_break_records_from_other_tests():
    """break_on and reproduce record what they caught per process: a test that reads the
    records sees only its own (under pytest-xdist a worker runs many files in one process)."""
    from rldebug.ide import clear_break_records

    clear_break_records()
    yield
    clear_break_records()


@pytest.fixture(params=["new", "old"])
def api_stack(request):
    """Run a test on both RLlib API stacks."""
    return request.param
