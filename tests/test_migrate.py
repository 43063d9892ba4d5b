"""``rldebug migrate``: every 2021-era name in a script, from its AST, never run."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rldebug.compat.migrate import migrations, migrations_in_source
from rldebug.usage import UsageError

OLD = Path(__file__).parent / "legacy" / "old_style_training.py"


def expected_lines():
    """Line number -> the names its trailing comment expects."""
    out = {}
    for number, line in enumerate(OLD.read_text().splitlines(), 1):
        if "  # " in line and not line.lstrip().startswith("#"):
            out[number] = [n.strip() for n in line.split("  # ", 1)[1].split(",")]
    return out


def test_every_old_name_is_found_on_its_line():
    found, notes = migrations(OLD)
    assert notes == []
    by_line = {}
    for m in found:
        by_line.setdefault(m.line, []).append(m)
    for number, names in expected_lines().items():
        seen = " ".join(m.found for m in by_line.get(number, []))
        for name in names:
            key = {"4-tuple step": "step() returns", "4-tuple unpack": "obs, reward, done",
                   "reset without seed": "def reset", "local_mode": "local_mode=True",
                   "agents": "ray.rllib.agents", "import gym.spaces": "import gym.spaces"
                   }.get(name, name)
            assert key in seen, (number, name, seen)
    assert set(by_line) <= set(expected_lines()), sorted(set(by_line) - set(expected_lines()))


def test_each_finding_has_a_replacement_and_most_a_helper():
    found, _ = migrations(OLD)
    assert all(m.replacement for m in found)
    helpers = {m.found: m.helper for m in found}
    assert helpers["ray.init(local_mode=True)"].startswith("rldebug.local_mode")
    assert helpers["obs, reward, done, info = env.step(...)"] == "rldebug.check_env"


def test_tensorflow_is_named_by_its_value_not_by_the_key():
    source = ('config.framework("tf2")\n'
              'config = config.framework(framework="tfe")\n'
              'config.framework("torch")\n'
              'c = {"framework": "torch"}\n'
              'PPOConfig().framework(framework_str)\n')
    found = migrations_in_source(source)
    assert [(m.line, m.found) for m in found] == [
        (1, ".framework('tf2')"), (2, "framework='tfe'")]
    assert all(m.replacement.startswith('"torch"') for m in found)


def test_code_for_260_has_nothing_to_migrate():
    source = Path(__file__).parent.parent / "rldebug" / "arena" / "config.py"
    assert migrations_in_source(source.read_text()) == []
    # a setting 2021 and 2.60 name alike, in its 2.60 place and in a config dict (a
    # bad-input audit's script was told to move it where it already was)
    assert migrations_in_source(
        'PPOConfig().env_runners(num_env_runners=0, rollout_fragment_length=50)\n'
        'config = {"env": "CartPole-v1", "rollout_fragment_length": 50}\n'
    ) == []


def test_cli_text_json_and_exit_codes(tmp_path, capsys):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "rldebug.cli", "migrate", *map(str, args)],
                              capture_output=True, text=True, timeout=60, check=False)

    def in_process(*args) -> int:  # the same main(), without a new interpreter each time
        from rldebug.cli import main

        return main(["migrate", *(str(a) for a in args)])

    text = cli(OLD)
    assert text.returncode == 1
    assert re.search(r"old_style_training\.py:\d+:\d+: PPOTrainer -> PPO", text.stdout)
    capsys.readouterr()
    assert in_process(OLD, "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert {m["found"] for m in data["migrations"]} >= {"tune.run(...)", '"num_workers"'}
    clean = tmp_path / "clean.py"
    clean.write_text("from ray.rllib.algorithms.ppo import PPOConfig\n")
    assert in_process(clean) == 0
    assert in_process(tmp_path / "nope.py") == 2
    assert "does not exist" in capsys.readouterr().err


def test_unparsable_files_are_noted_not_fatal(tmp_path):
    (tmp_path / "good.py").write_text("import gym\n")
    (tmp_path / "bad.py").write_text("def broken(:\n")
    found, notes = migrations(tmp_path)
    assert [m.found for m in found] == ["import gym"]
    assert len(notes) == 1 and "bad.py" in notes[0] and "SyntaxError" in notes[0]
    (tmp_path / "good.py").unlink()
    with pytest.raises(UsageError, match="No file could be parsed"):
        migrations(tmp_path)
    with pytest.raises(UsageError, match="not a .py file"):
        migrations(OLD.with_suffix(".txt") if OLD.with_suffix(".txt").exists() else
                   Path(__file__).parent / "doctor_corpus" / "labels.json")
    with pytest.raises(TypeError, match="expects a path"):
        migrations(3)


def test_names_a_2021_script_uses_that_break_or_do_nothing_in_260():
    lines = [
        "import ray.rllib.agents.dqn as dqn",                          # 1
        "from ray.rllib.agents.callbacks import DefaultCallbacks",     # 2
        "from ray.rllib.agents.a3c import A3CTrainer",                 # 3
        "config = {'horizon': 200, 'no_done_at_end': True,",           # 4
        "          'lr_schedule': [[0, 1e-3]], 'model': {'fcnet_hiddens': [64]},",  # 5
        "          'observation_filter': 'MeanStdFilter'}",            # 6
        "c = PPOConfig().rollouts(num_rollout_workers=2)",             # 7
        "class Env(MultiAgentEnv):",                                   # 8
        "    def __init__(self, config):",                             # 9
        "        super().__init__()",                                  # 10
        "        self._agent_ids = {'a', 'b'}",                        # 11
        "meta = {'model': 'gpt'}",                                     # 12: not RLlib's
        "env_config = {'horizon': 200, 'size': 5}",                    # 13: the env's own
        "class Early(MultiAgentEnv):",                                 # 14
        "    def __init__(self, config):",                             # 15
        "        self._agent_ids = {'a', 'b'}",                        # 16: read by RLlib
        "        super().__init__()",                                  # 17
    ]
    source = "\n".join(lines)
    found = {(m.line, m.found): m.replacement for m in migrations_in_source(source)}
    assert found[(1, "ray.rllib.agents.dqn")] == "ray.rllib.algorithms.dqn"
    assert "RLlibCallback" in found[(2, "ray.rllib.agents.callbacks")]
    assert "no a3c" in found[(3, "ray.rllib.agents.a3c")]
    assert "TimeLimit" in found[(4, '"horizon"')]
    assert "truncated=True" in found[(4, '"no_done_at_end"')]
    assert found[(5, '"lr_schedule"')].startswith("lr=[[0, lr_start]")
    assert "model_config" in found[(5, '"model": {...}')]
    assert "MeanStdFilter()" in found[(6, '"observation_filter"')]
    assert ".env_runners(...)" in found[(7, ".rollouts(...)")]
    assert found[(7, "num_rollout_workers=")].startswith("num_env_runners")
    assert "possible_agents" in found[(11, "self._agent_ids = ... after super().__init__()")]
    assert not any(line in (12, 13, 16) for line, _ in found)
