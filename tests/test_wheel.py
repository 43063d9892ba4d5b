"""The wheel installs: ``python -m build`` makes a wheel and an sdist that ``twine check``
accepts, and the wheel installed (not editable) into a fresh environment works from
another directory: ``rldebug --help``, ``rldebug doctor`` on a stored run (with its
packaged confidence table) and ``rldebug.explain`` on a tiny algorithm. The fresh
environment reuses this venv's dependencies (Ray, torch: no network) through a path
file, which adds their directory but not this checkout's editable install."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "tests" / "doctor_faults" / "runs" / "ppo_cartpole__lr_div1000__s0"

EXPLAIN = """
import numpy as np
import rldebug
from ray.rllib.algorithms.ppo import PPOConfig

print("FROM", rldebug.__file__)
config = rldebug.local_mode(PPOConfig().environment("CartPole-v1")
                            .training(train_batch_size=64, minibatch_size=32, num_epochs=1))
algo = config.build_algo()
explained = rldebug.explain(algo, np.zeros(4, dtype=np.float32))
print("PROBS", round(float(sum(explained.probs)), 6))
algo.stop()
"""


def _run(argv, cwd, timeout=300, codes=(0, 1)):
    # without PYTHONPATH: the fresh environment must see the wheel, not a checkout on a path
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)
    assert done.returncode in codes, (argv, done.stdout[-2000:], done.stderr[-3000:])
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("build", reason="`make setup` installs the dev extras (build)")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
         cwd=ROOT)
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    checked = _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, [*wheels,
                                                                              *sdists])],
                   cwd=ROOT)
    assert checked.returncode == 0 and checked.stdout.count("PASSED") == 2, checked.stdout
    env_dir = tmp_path_factory.mktemp("fresh") / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = _run([str(python), "-c", where], cwd=env_dir).stdout.strip()
    Path(purelib, "project-venv-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
          str(wheels[0])], cwd=env_dir, codes=(0,))
    return env_dir, wheels[0]


def test_the_installed_wheel_answers_from_another_directory(installed, tmp_path):
    env_dir, wheel = installed
    rldebug = env_dir / "bin" / "rldebug"
    assert wheel.name == f"rldebug-{_version()}-py3-none-any.whl"  # one version source
    helped = _run([str(rldebug), "--help"], cwd=tmp_path)
    assert helped.returncode == 0 and "doctor" in helped.stdout
    diagnosed = _run([str(rldebug), "doctor", str(RUN)], cwd=tmp_path)
    assert diagnosed.returncode == 1 and "updates_too_small" in diagnosed.stdout
    assert "confidence: " in diagnosed.stdout  # rldebug/doctor/confidence.json is packaged
    explained = _run([str(env_dir / "bin" / "python"), "-c", EXPLAIN], cwd=tmp_path)
    assert f"FROM {env_dir}" in explained.stdout, explained.stdout  # the wheel, not ROOT
    assert "PROBS 1.0" in explained.stdout


def _version() -> str:
    import rldebug

    return rldebug.__version__
