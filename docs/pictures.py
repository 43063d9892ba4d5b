"""Make the documentation's pictures from real runs (``make pictures``; ~3 minutes).

- ``policy_map.png``, ``action_probs.png``, ``replay.gif``: arena PPO trained in-process
  by ``rldebug.run`` for ``--iterations`` iterations (seed 0), then asked with
  ``rldebug.viz``.
- ``doctor_report.png``: the HTML report of ``rldebug doctor --html`` on the stored run
  ``tests/doctor_corpus/runs/arena_lr_0.5`` (arena PPO at lr=0.5), photographed by
  headless Chromium.

Each picture's caption in the docs says how it was made; rerun this after a change that
alters what they show.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "_static" / "pictures"
DOCTOR_RUN = ROOT / "tests" / "doctor_corpus" / "runs" / "arena_lr_0.5"


def policy_pictures(iterations: int, workdir: Path) -> None:
    import numpy as np

    import rldebug
    from rldebug.viz import plot_action_probs, policy_map, replay

    run = rldebug.run(rldebug.arena_ppo_config(seed=0),
                      stop={"training_iteration": iterations}, logdir=workdir / "run",
                      progress=False)
    algo = run.algo
    try:
        policy_map(algo, "agent1").figure(background="value").savefig(
            OUT / "policy_map.png", dpi=110, bbox_inches="tight")
        # agent1 at the top-left corner, agent2 at its start (bottom-right).
        explanation = rldebug.explain(algo, np.array([0, 99]), agent_id="agent1")
        plot_action_probs(explanation).savefig(OUT / "action_probs.png", dpi=110,
                                               bbox_inches="tight")
        replay(algo, seed=0, max_steps=16, fps=3).save_gif(OUT / "replay.gif", fps=3)
    finally:
        algo.stop()
    print(f"trained {run.iterations} iterations: mean return "
          f"{run.last_result['env_runners']['episode_return_mean']:.2f}")


def doctor_picture(workdir: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("doctor_report.png needs chromium (make browser)")
    html = workdir / "doctor.html"
    subprocess.run([sys.executable, "-m", "rldebug.cli", "doctor",
                    str(DOCTOR_RUN.relative_to(ROOT)), "--html", str(html)], cwd=ROOT,
                   check=False, capture_output=True)
    if not html.exists():
        sys.exit(f"rldebug doctor wrote no HTML report for {DOCTOR_RUN}")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1000,900",
                    f"--screenshot={OUT / 'doctor_report.png'}", html.as_uri()],
                   check=True, capture_output=True, timeout=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30,
                        help="arena PPO iterations before the policy pictures")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rldebug_pictures_") as tmp:
        doctor_picture(Path(tmp))
        policy_pictures(args.iterations, Path(tmp))
    for picture in sorted(OUT.iterdir()):
        print(f"{picture.relative_to(ROOT)}: {picture.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
