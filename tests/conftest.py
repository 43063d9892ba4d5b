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
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


def _remember_the_harness_frames_have_no_module():
    """The test harness's own frames made RLlib's ConnectorV2 cost ~100 ms each.

    ``ConnectorV2.__init__`` calls ``inspect.stack()`` (for its constructor arguments),
    which looks up the module of every frame on the stack. For a frame whose file is
    no imported module's (execnet's ``<string>`` bootstrap and xdist's ``remote.py``
    under pytest-xdist, ``<frozen runpy>`` under ``python -m``), ``inspect.getmodule``
    finds nothing in its cache and rescans all of ``sys.modules`` (~10,000 modules
    once RLlib is imported) — every time, since a miss is not cached. Measured: 28 %
    of the pytest workers' CPU in the probe, recipe and verify-fix tests. Here those
    files are recorded as mapping to no module, so ``getmodule`` returns the same None
    at once. RLlib's code and results are unchanged (it uses only the frame).
    """
    import inspect
    import sys

    no_module = "<rldebug tests: a frame of the test harness, no module>"
    frame, files = sys._getframe(), {"<frozen runpy>", "<string>"}
    while frame is not None:
        files.add(frame.f_code.co_filename)
        frame = frame.f_back
    for file in files:
        if file not in inspect.modulesbyfile and not any(
                getattr(module, "__file__", None) == file for module in list(sys.modules.values())):
            inspect.modulesbyfile[file] = no_module


_remember_the_harness_frames_have_no_module()


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
