"""The public API in rldebug/__init__.py resolves, and submodules do not shadow it."""

import importlib

import pytest

import rldebug


@pytest.mark.parametrize("name", rldebug.__all__)
def test_every_public_name_resolves(name):
    assert getattr(rldebug, name) is not None


def test_submodules_do_not_replace_the_functions_of_the_same_name():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the old paths warn
        for module in ("rldebug.run", "rldebug.trace", "rldebug.inspect", "rldebug.reproduce",
                       "rldebug.diff", "rldebug.preflight", "rldebug.inprocess.training",
                       "rldebug.tracing", "rldebug.inspection", "rldebug.reproduction.run",
                       "rldebug.rundiff", "rldebug.traps", "rldebug.ide.breakpoints",
                       "rldebug.inspection.explanation", "rldebug.viz.replays"):
            importlib.import_module(module)
    assert rldebug.run.__module__ == "rldebug.inprocess.training"
    assert rldebug.trace.__module__ == "rldebug.tracing.instrument"
    assert callable(rldebug.inspect) and callable(rldebug.diff) and callable(rldebug.preflight)
    assert rldebug.reproduce.__module__ == "rldebug.reproduction"
    assert callable(rldebug.ide.break_on) and callable(rldebug.inspection.explain)
    assert callable(rldebug.viz.replay)


def test_unknown_name_lists_the_public_ones():
    with pytest.raises(AttributeError, match="public names: AlgoSummary"):
        rldebug.local_mod  # noqa: B018


@pytest.mark.parametrize("code", [
    "import rldebug",
    "from rldebug.cli import main; main(['--help'])",
    "from rldebug.cli import main; main(['doctor', RUN])",
    "from rldebug.cli import main; main(['diff', RUN, RUN.replace('s0', 's1')])",
])
def test_importing_rldebug_and_reading_a_run_load_no_rllib(code):
    """RLlib and torch take seconds to import; the CLI's help, the doctor and diff (two
    runs whose configs hold every key) read files only."""
    import subprocess
    import sys
    from pathlib import Path

    run = Path(__file__).parent / "doctor_faults" / "runs" / "ppo_cartpole__healthy__s0"
    script = (f"import sys\nRUN = {str(run)!r}\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
              "print('RLLIB', 'ray.rllib' in sys.modules, 'TORCH', 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert "RLLIB False TORCH False" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def test_every_public_name_is_in_the_api_reference():
    """api.md says anything it does not list is an implementation detail; nine names of
    rldebug.__all__ (some the how-tos tell users to call) were missing from it."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "reference" / "api.md").read_text()
    assert [n for n in rldebug.__all__ if f"rldebug.{n}\n" not in page
            and f"rldebug.{n} " not in page] == []
