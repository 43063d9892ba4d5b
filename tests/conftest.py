"""Shared fixtures: one Ray instance for the whole test session."""

import os
from pathlib import Path

import pytest

# Remote Ray workers must import test modules (callbacks defined in tests).
_TESTS = str(Path(__file__).parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_TESTS, os.environ.get("PYTHONPATH")) if p)

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


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
