"""Bad inputs to every public entry point: a clear error naming the argument, no library
exception escaping, no hang, nothing written where it should not be.

Each row: a description, a callable that feeds one bad input, the exception type
expected and a pattern its message must contain (what was wrong, the fix).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from tiny import tiny_arena_config

import rldebug
from rldebug.arena import MultiAgentArena
from rldebug.callbacks import InfoEvents, add_callbacks
from rldebug.cli import main as cli_main
from rldebug.doctor import diagnose
from rldebug.envcheck import check_env
from rldebug.ide import break_on
from rldebug.inspection import CheckpointError

# Library-internal exception types that must never reach a user of the public API.
LIBRARY_ERRORS = ("torch", "pandas", "pyarrow", "ray", "json", "pickle", "gymnasium.utils")


def run_tiny(**kwargs):
    kwargs.setdefault("stop", {"training_iteration": 1})
    kwargs.setdefault("progress", False)
    return rldebug.run(tiny_arena_config(), **kwargs)


API_ROWS = [
    # each error names the function called (is_local said "rldebug.local_mode expects")
    ("is_local: not a config", lambda tmp: rldebug.is_local(None), TypeError,
     r"rldebug\.is_local expects an RLlib AlgorithmConfig"),
    ("reproduce: a number as the path", lambda tmp: rldebug.reproduce(123), TypeError,
     r"reproduce\(path=...\) takes a trace or run directory"),  # said "event=N" missing
    ("run: NaN stop threshold", lambda tmp: run_tiny(stop={"training_iteration": math.nan},
                                                     logdir=tmp), ValueError, "NaN"),
    ("run: negative iteration stop", lambda tmp: run_tiny(stop={"training_iteration": -1},
                                                          logdir=tmp), ValueError, "counts up"),
    ("run: zero env-step stop", lambda tmp: run_tiny(
        stop={"env_runners/num_env_steps_sampled_lifetime": 0}, logdir=tmp), ValueError,
     "positive number"),
    ("run: stop fn with one argument", lambda tmp: run_tiny(stop=lambda result: True,
                                                            logdir=tmp), TypeError,
     r"stop\(iteration, result\)"),
    ("run: empty stop", lambda tmp: run_tiny(stop={}, logdir=tmp), ValueError, "no criterion"),
    ("run: stop as a string", lambda tmp: run_tiny(stop="10", logdir=tmp), TypeError,
     "stop must be a dict"),
    ("run: string threshold", lambda tmp: run_tiny(stop={"training_iteration": "10"},
                                                   logdir=tmp), TypeError, "must be a number"),
    ("run: empty logdir", lambda tmp: run_tiny(logdir=""), ValueError, "non-empty path"),
    ("run: logdir is a file", lambda tmp: run_tiny(logdir=_a_file(tmp)), ValueError,
     "Cannot write to log directory"),
    ("run: not a config", lambda tmp: rldebug.run("PPO", stop={"training_iteration": 1},
                                                  logdir=tmp), TypeError, "AlgorithmConfig"),
    ("run: max_iterations 0", lambda tmp: rldebug.run(tiny_arena_config(), max_iterations=0,
                                                      logdir=tmp), ValueError,
     "max_iterations must be a positive int"),
    ("run: unknown trace level", lambda tmp: run_tiny(trace="everything", logdir=tmp),
     ValueError, "trace level must be one of"),
    ("local_mode: not a config", lambda tmp: rldebug.local_mode(42), TypeError,
     "AlgorithmConfig"),
    ("trace: unknown level", lambda tmp: rldebug.trace(tiny_arena_config(), level="x", out=tmp),
     ValueError, "trace level must be one of"),
    ("trace: not a config", lambda tmp: rldebug.trace("config", out=tmp), TypeError,
     "AlgorithmConfig"),
    ("trace: memory not a bool", lambda tmp: rldebug.trace(tiny_arena_config(), out=tmp,
                                                           memory="yes"),
     TypeError, r"trace\(memory=...\) must be True or False, got 'yes'"),
    ("break_on: NaN reward bound", lambda tmp: break_on(tiny_arena_config(),
                                                        reward_below=math.nan),
     ValueError, r"reward_below=nan\) can never fire"),
    ("break_on: string reward bound", lambda tmp: break_on(tiny_arena_config(),
                                                           reward_above="1"),
     TypeError, "reward_above.*must be a number"),
    ("break_on: events not strings", lambda tmp: break_on(tiny_arena_config(), events=3),
     TypeError, "info event names as strings"),
    ("break_on: unknown arena event", lambda tmp: break_on(tiny_arena_config(),
                                                           events=("colision",)),
     ValueError, r"\['colision'\].*\['collision', 'new_field'\]"),
    ("break_on: spike factor <= 1", lambda tmp: break_on(tiny_arena_config(), loss_spike=0.5),
     ValueError, "must be > 1"),
    ("break_on: action name not a number", lambda tmp: break_on(
        tiny_arena_config(), agent_action={"agent1": "up"}), TypeError, "'agent1': 'up'"),
    ("break_on: unknown agent", lambda tmp: break_on(tiny_arena_config(),
                                                     agent_action={"agent3": 1}),
     ValueError, r"\['agent3'\]"),
    ("break_on: agent ids not ids", lambda tmp: break_on(tiny_arena_config(),
                                                         agent_ids=[1.5]),
     TypeError, "agent_ids"),
    ("break_on: negative max_stops", lambda tmp: break_on(tiny_arena_config(), max_stops=-1),
     ValueError, "max_stops.*>= 0"),
    ("break_on: unknown mode", lambda tmp: break_on(tiny_arena_config(), mode="sometimes"),
     ValueError, "mode='sometimes'"),
    ("break_on: not a config", lambda tmp: break_on({"env": "x"}), TypeError,
     "AlgorithmConfig"),
    ("break_on: action outside Discrete(4)", lambda tmp: rldebug.local_mode(break_on(
        tiny_arena_config(), agent_action={"agent1": 7})).build_algo(), ValueError,
     r"\[7\] can never be taken.*Discrete\(4\)"),
    ("break_on: int for a vector action", lambda tmp: rldebug.local_mode(break_on(
        tiny_arena_config(), agent_action={"agent1": (1, 2)})).build_algo(), ValueError,
     "can never be taken"),
    ("arena: config as a string", lambda tmp: MultiAgentArena("width=5"), TypeError,
     "config as a dict"),
    ("arena: config as a list", lambda tmp: MultiAgentArena(["width", 5]), TypeError,
     "config as a dict"),
    ("arena: width 1", lambda tmp: MultiAgentArena({"width": 1}), ValueError, "'width'"),
    ("arena: unknown key", lambda tmp: MultiAgentArena({"colour": 1}), ValueError,
     r"unknown config key\(s\) \['colour'\]"),
    ("arena: step before reset", lambda tmp: MultiAgentArena().step({"agent1": 0, "agent2": 0}),
     "ResetNeeded", "call env.reset"),
    ("arena: action out of range", lambda tmp: _reset_arena().step({"agent1": 9, "agent2": 0}),
     ValueError, "agent1"),
    ("arena: actions not a dict", lambda tmp: _reset_arena().step([0, 1]), ValueError,
     "expects a dict"),
    ("load_trace: no directory", lambda tmp: rldebug.load_trace(tmp / "nope"),
     FileNotFoundError, r"load_trace\(directory=...\): '.*nope' does not exist"),
    ("load_trace: a file", lambda tmp: rldebug.load_trace(_a_file(tmp)), ValueError,
     r"notes.txt' is a file, not a trace folder"),
    ("load_trace: an unknown URI", lambda tmp: rldebug.load_trace("foo://x"), ValueError,
     r"load_trace\(directory=...\): pyarrow cannot open the URI 'foo://x'"),
    ("reproducible_events: None", lambda tmp: rldebug.reproducible_events(None), TypeError,
     r"reproducible_events\(path=...\) takes a trace or run directory"),
    ("load_trace: directory without traces", lambda tmp: rldebug.load_trace(tmp),
     FileNotFoundError, "No trace files"),
    ("load_trace: not a path", lambda tmp: rldebug.load_trace(123), TypeError,
     r"A trace folder is a path \(str or pathlib.Path\) or a URI"),
    ("trace: out not a path", lambda tmp: rldebug.trace(tiny_arena_config(), out=123),
     TypeError, "got int: 123"),
    ("diagnose: no such path", lambda tmp: diagnose(tmp / "nope"), "UnusableInputError",
     "nope"),
    ("diagnose: a number", lambda tmp: diagnose(42), TypeError, "42"),
    ("check_env: steps 0", lambda tmp: check_env(MultiAgentArena, steps=0), ValueError,
     "steps must be an int >= 1"),
    ("check_env: unknown id", lambda tmp: check_env("NoSuchEnv-v9"), ValueError,
     "NoSuchEnv-v9"),
    ("check_env: config for an instance", lambda tmp: check_env(MultiAgentArena(), {"a": 1}),
     ValueError, "env_config is only used"),
    ("add_callbacks: an instance", lambda tmp: add_callbacks(tiny_arena_config(), object()),
     TypeError, "RLlibCallback subclasses"),
    ("add_callbacks: not a config", lambda tmp: add_callbacks("x"), TypeError,
     "AlgorithmConfig"),
    ("InfoEvents: no events", lambda tmp: InfoEvents.counting(), ValueError,
     "one or more info key names"),
    ("inspect: not an algorithm", lambda tmp: rldebug.inspect(42), TypeError,
     "built RLlib Algorithm"),
    ("explain: not an algorithm", lambda tmp: rldebug.explain("algo", [0, 1]), TypeError,
     "built RLlib Algorithm"),
    ("load: no such checkpoint", lambda tmp: rldebug.load(tmp / "nope"), CheckpointError,
     "nope"),
    # each of these was a hang, a library's error, or an argument silently ignored
    ("run: only infinite stop thresholds", lambda tmp: run_tiny(
        stop={"time_total_s": math.inf, "env_runners/episode_return_mean": math.inf},
        logdir=tmp), ValueError, r"is inf for every criterion: .* would never stop"),
    ("run: progress not a bool", lambda tmp: run_tiny(progress="x", logdir=tmp), TypeError,
     r"rldebug.run\(progress=...\) must be True or False, got 'x'"),
    ("demo: infinite budget", lambda tmp: _demo(budget_s=math.inf), ValueError,
     r"demo\(budget_s=...\) must be a finite number, got inf"),
    ("local_mode: warn not a bool", lambda tmp: rldebug.local_mode(tiny_arena_config(),
                                                                    warn="no"),
     TypeError, r"local_mode\(warn=...\) must be True or False"),
    ("arena config: unknown override", lambda tmp: rldebug.arena_ppo_config(width=5),
     ValueError, r"unknown override\(s\) \['width'\].*besides api_stack= and env_config="),
    ("arena config: negative lr", lambda tmp: rldebug.arena_ppo_config(lr=-1), ValueError,
     r"arena_ppo_config\(lr=...\) takes a finite number > 0 or a schedule .*, got -1"),
    ("arena config: seed not an int", lambda tmp: rldebug.arena_ppo_config(seed="a"),
     ValueError, r"seed=...\) takes None or an int >= 0"),
    ("arena: width -3, said as unusable input", lambda tmp: rldebug.arena_ppo_config(
        env_config={"width": -3}), "UsageError", "'width' must be"),
    ("break_on: bounds that catch every reward", lambda tmp: break_on(
        tiny_arena_config(), reward_below=5, reward_above=1), ValueError,
     "so every step would stop"),
    ("load: None", lambda tmp: rldebug.load(None), TypeError,
     r"load\(path=...\) must be a checkpoint folder \(a str or pathlib.Path\), got None"),
    ("load: modules_only not a bool", lambda tmp: rldebug.load(tmp, modules_only="x"),
     TypeError, r"load\(modules_only=...\) must be True or False"),
    ("inference_policy: None", lambda tmp: rldebug.inference_policy(None), TypeError,
     r"inference_policy\(checkpoint=...\) must be"),
    ("export: empty out", lambda tmp: rldebug.export(tmp, ""), TypeError,
     r"export\(out=...\) must be the folder to write"),
    ("export: onnx not a bool", lambda tmp: rldebug.export(tmp, tmp / "out", onnx="yes"),
     TypeError, r"export\(onnx=...\) must be True or False"),
    ("diagnose: an empty path", lambda tmp: diagnose(""), TypeError,
     r"diagnose\(results_or_path=...\) must be the path of a run"),  # it read the cwd
    ("diagnose: bytes", lambda tmp: diagnose(b"/tmp"), TypeError, "got b'/tmp'"),
    ("diagnose: config not a dict", lambda tmp: diagnose([{}], config="x"), TypeError,
     r"diagnose\(config=...\) takes the run's config dict"),
    ("diff: an empty path", lambda tmp: rldebug.diff("", tmp), TypeError,
     r"diff\(run_a=...\) must be a run's path"),
    ("verify_fix: module without a rule", lambda tmp: _verify_fix(tmp, module="pol9"),
     ValueError, r"give the finding's rule too, rule= \(--rule\)"),
    ("write_ide_configs: empty root", lambda tmp: _write_ide_configs(""), TypeError,
     "your project's root folder"),
    ("load_trace: empty path", lambda tmp: rldebug.load_trace(""), TypeError,
     "A trace folder is a path"),
    ("start_ray: a keyword ray.init does not take", lambda tmp: rldebug.start_ray(bogus=1),
     TypeError, r"ray.init, which takes none named \['bogus'\]"),  # Ray's RuntimeError
]


def _demo(**kwargs):
    from rldebug.inprocess.demo import demo

    return demo(**kwargs)


def _verify_fix(run, **kwargs):
    from rldebug.doctor.verify import verify_fix

    return verify_fix(run, **kwargs)


def _write_ide_configs(root):
    from rldebug.ide import write_ide_configs

    return write_ide_configs(root)


def _a_file(tmp: Path) -> Path:
    path = tmp / "a_file"
    path.write_text("x")
    return path / "logs"


def _a_file(tmp):
    path = tmp / "notes.txt"
    path.write_text("not a trace")
    return path


def _reset_arena():
    env = MultiAgentArena()
    env.reset(seed=0)
    return env


def _type_name(error: BaseException) -> str:
    return type(error).__name__


@pytest.mark.parametrize("name, call, expected, pattern", API_ROWS,
                         ids=[row[0] for row in API_ROWS])
def test_bad_input_to_the_api_gets_a_clear_error(name, call, expected, pattern, tmp_path):
    before = set(Path.cwd().iterdir())
    with pytest.raises(Exception) as caught:
        call(tmp_path)
    error = caught.value
    if isinstance(expected, str):
        assert _type_name(error) == expected, repr(error)
    else:
        assert isinstance(error, expected), repr(error)
    assert not type(error).__module__.startswith(LIBRARY_ERRORS) or isinstance(
        expected, str), f"{type(error).__module__}.{_type_name(error)} escaped: {error}"
    assert re.search(pattern, str(error)), f"{pattern!r} not in: {error}"
    assert set(Path.cwd().iterdir()) == before, "something was written to the cwd"


@pytest.fixture(scope="module")
def algo():
    from inspect_algos import trained_algo

    return trained_algo("new")


EXPLAIN_ROWS = [
    ("agent id as a list", {"obs": np.array([0, 99]), "agent_id": ["agent1"]}, TypeError,
     "one id"),
    ("seed as a string", {"obs": np.array([0, 99]), "agent_id": "agent1", "seed": "abc"},
     ValueError, "seed=...\\) must be None or an int"),
    ("seed too large", {"obs": np.array([0, 99]), "agent_id": "agent1", "seed": 2**70},
     ValueError, "seed"),
    ("negative seed", {"obs": np.array([0, 99]), "agent_id": "agent1", "seed": -1}, ValueError,
     "seed"),
    ("boolean observation", {"obs": np.array([True, False]), "agent_id": "agent1"},
     ValueError, "boolean"),
    ("boolean observation as a list", {"obs": [True, False], "agent_id": "agent1"},
     ValueError, "holds booleans"),
    ("a boolean inside a batch", {"obs": [[0, 1], (True, 5)], "agent_id": "agent1"},
     ValueError, "holds booleans"),
    ("observation outside the space", {"obs": [0, 100], "agent_id": "agent1"}, ValueError,
     "outside the space's bounds"),
    ("observation of the wrong shape", {"obs": [0, 1, 2], "agent_id": "agent1"}, ValueError,
     r"shape \(3,\), expected \(2,\)"),
    ("float observation for ints", {"obs": np.array([0.5, 1.0]), "agent_id": "agent1"},
     ValueError, "dtype float64"),
    ("unknown agent", {"obs": [0, 1], "agent_id": "agent9"}, ValueError,
     r"Unknown agent id 'agent9'.*\['agent1', 'agent2'\]"),
    ("unknown module", {"obs": [0, 1], "module_id": "pol9"}, ValueError, "Unknown module id"),
    ("agent and module disagree", {"obs": [0, 1], "agent_id": "agent1", "module_id": "pol2"},
     ValueError, "maps to module 'pol1'"),
    ("no agent or module", {"obs": [0, 1]}, ValueError, "Say whose observation"),
    ("a string", {"obs": "[0, 99]", "agent_id": "agent1"}, ValueError,
     "it is a string, and the space holds numbers"),  # after gymnasium's cast warning
]


@pytest.mark.parametrize("name, kwargs, expected, pattern", EXPLAIN_ROWS,
                         ids=[row[0] for row in EXPLAIN_ROWS])
def test_bad_input_to_explain_gets_a_clear_error(algo, name, kwargs, expected, pattern):
    kwargs = dict(kwargs)
    obs = kwargs.pop("obs")
    with pytest.raises(expected, match=pattern):
        rldebug.explain(algo, obs, **kwargs)


def _garbage_trace(tmp: Path) -> Path:
    """A real-looking trace directory whose files were damaged in three ways."""
    trace = tmp / "trace"
    trace.mkdir()
    good = '{"time": 1.0, "iteration": 1, "pid": 1}\n'
    (trace / "iterations-driver-1.jsonl").write_text(good)
    (trace / "samples-runner0-1.jsonl").write_bytes(b"\x00\xff\xfe garbage\n" + good.encode())
    (trace / "updates-learner-1.jsonl").write_bytes("\u00e9t\u00e9\n".encode("latin-1")
                                                     + good.encode())
    (trace / "events-learner-1.jsonl").write_text('[1, 2, 3]\n"text"\n')
    return trace


def test_load_trace_names_each_damaged_file_and_keeps_the_good_records(tmp_path):
    from rldebug.tracing.reading import TraceDamagedWarning

    with pytest.warns(TraceDamagedWarning) as warned:
        loaded = rldebug.load_trace(_garbage_trace(tmp_path))
    assert len(warned) == 1  # once, naming every damaged file and its lines
    message = str(warned[0].message)
    assert "events-learner-1.jsonl: 2 line(s) (lines 1, 2)" in message
    assert "samples-runner0-1.jsonl: 1 line(s) (lines 1)" in message
    assert loaded.corrupt_lines == {"samples-runner0-1.jsonl": [1],
                                    "updates-learner-1.jsonl": [1],
                                    "events-learner-1.jsonl": [1, 2]}
    assert len(loaded.samples) == 1 and len(loaded.updates) == 1 and loaded.events.empty
    assert loaded.truncated_lines == 0


def test_a_cut_last_line_is_truncated_not_corrupt(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    (trace / "samples-runner0-1.jsonl").write_text('{"time": 1.0, "env_steps": 2}\n{"time": 2')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a killed writer's cut line is no damage
        loaded = rldebug.load_trace(trace)
    assert loaded.truncated_lines == 1 and loaded.corrupt_lines == {}


CLI_ROWS = [
    (["doctor", "{tmp}/nope"], "nope"),
    (["inspect", "{tmp}/nope"], "nope"),
    (["inspect", "{tmp}", "--agent", "agent1"], "pass --obs too"),
    (["trace", "{tmp}/nope"], "nope' does not exist"),
    (["trace", "{tmp}/samples-runner0-1.jsonl"],  # one of its files: it said "No trace files"
     "is one file of a trace; pass its folder, '{tmp}'"),
    (["run", "--stop-iters", "0"], "--stop-iters must be >= 1"),
    (["run", "--stop-time", "-5"], "--stop-time must be > 0"),
    (["run"], "Give at least one of --stop-iters"),
    (["run", "--config", "{tmp}/missing.py:make", "--stop-iters", "1"], "does not exist"),
    (["run", "--config", "no_colon_here", "--stop-iters", "1"], "must look like"),
    (["run", "--config", "{tmp}/empty.py:make", "--stop-iters", "1"], "has no function 'make'"),
    (["run", "--config", "{tmp}/empty.py:x", "--stop-iters", "1"],
     "'x' in '{tmp}/empty.py' is not a function but 1; --config needs a function"),
    (["check", "{tmp}/empty.py:make_dict"],
     "{tmp}/empty.py:make_dict returned dict, not an RLlib AlgorithmConfig"),
    (["parity", "{tmp}", "--policy", "no_such_module_here:act"],
     "No module named 'no_such_module_here'. Name a module Python can import"),
    (["parity", "{tmp}", "--policy", "{tmp}/broken.py:act"],
     "does not compile: expected ':' at line 1"),
    (["parity", "{tmp}", "--policy", "{tmp}/empty.py:x"],
     ("--policy needs your deployed policy: a function (or callable object) from the "
      "env's raw observation to its action, def x(obs)")),
    (["profile", "{tmp}/nope", "--chrome-trace", "{tmp}/no/t.json"],  # outputs first
     "--chrome-trace '{tmp}/no/t.json': The directory of '{tmp}/no/t.json' does not exist"),
    (["profile", "{tmp}/nope"], "nope' does not exist"),
    # an output where nothing can be written: the option and the system's reason
    (["profile", "{tmp}", "--chrome-trace", "/proc/t.json"],
     "--chrome-trace '/proc/t.json': cannot write in '/proc'"),
    (["ide-configs", "--root", "/proc"], "--root '/proc': cannot write in '/proc'"),
    (["ide-configs", "--root", "{tmp}/empty.py/sub"], "is not a folder"),
    (["profile", "{tmp}", "--chrome-trace", ""],  # was ignored: exit 0, nothing written
     "--chrome-trace must be a file name"),
    (["doctor", "{tmp}", "--html", "{tmp}/empty.py"],  # the flag named, then the refusal
     ("--html '{tmp}/empty.py': The HTML report's path '{tmp}/empty.py' names an existing "
      "file that is not an HTML page")),
    (["check", "{tmp}/nope.py:make"],  # check has no --config flag, which it named
     ("rldebug check CONFIG (FILE.py:FUNC, or a script FILE.py) file '{tmp}/nope.py' does "
      "not exist")),
    (["migrate", ""], "empty path"),  # it scanned the current directory
    (["doctor", ""], "must be the path of a run"),  # these read the current directory
    (["diff", "", "{tmp}"], "must be a run's path"),
    (["trace", ""], "A trace folder is a path"),
    (["inspect", ""], "The checkpoint must be a folder"),
    (["ide-configs", "--root", ""], "your project's root folder"),
    (["check", "{tmp}/empty.py:make_with"],  # a raw TypeError from calling it
     "make_with(x) cannot be called without arguments"),
    (["check", "{tmp}/broken.py"], "does not compile: expected ':' at line 1"),
    # the user's own code raising is said as theirs (it was a bare "ValueError: ...")
    (["check", "{tmp}/raising.py:make"],
     "'{tmp}/raising.py:make' raised ValueError: my config bug (your config function"),
    (["run", "--config", "{tmp}/raising_import.py:make", "--stop-iters", "1"],
     ("--config: importing '{tmp}/raising_import.py' raised NameError: name 'undefined' "
      "is not defined (your code")),
    (["demo", "--budget", "inf"], "must be a finite number"),
    (["run", "--stop-time", "inf"], "inf for every criterion"),
    # flags that were accepted and then ignored
    (["probe", "{tmp}/empty.py:make_dict", "--only", ""], "--only '' names no probe"),
    (["probe", "{tmp}/ppo.py:make", "--budget", "-1"],  # it offered only "None"
     "or None for no limit (--budget 0)"),
    (["doctor", "{tmp}", "--seeds", "0"], "--seeds applies only with --verify"),
    (["doctor", "{tmp}", "--verify", "--module", "pol9"], "give the finding's rule too"),
    (["doctor", "{tmp}", "--rule", "lr_too_high", "--json"],  # said as JSON
     '"error": "--rule applies only with --verify'),
    (["inspect", "{tmp}", "--seed", "3"], "--seed seeds the action sampled for --obs"),
    (["inspect", "{tmp}", "--obs", "null"], "--obs 'null' is no observation"),
    # --json: every command's unusable input as JSON on stdout too (doctor's and migrate's
    # alone were)
    (["diff", "{tmp}/nope", "{tmp}", "--json"], '"command": "diff"'),
    (["profile", "{tmp}/nope", "--json"], '"exit_code": 2'),
    (["inspect", "{tmp}/nope", "--json"], '"command": "inspect"'),
    (["reproduce", "{tmp}", "--step", "5"],  # --event, which it also offered, refuses it
     "--step chooses where to stop in an episode of --iteration I: give --iteration too"),
    (["reproduce", "{tmp}", "--mode", "log"], "--mode log says how a replay stops"),
    (["run", "--config", "{tmp}/empty.py:make_dict", "--stack", "old", "--stop-iters", "1"],
     "--stack old chooses the API stack of the default arena config"),
    (["parity", "{tmp}", "--policy", "{tmp}/empty.py:make_with", "--observations",
      "{tmp}/obs.npy", "--episodes", "7"], "parity(episodes=7) (--episodes) counts"),
]


@pytest.mark.parametrize("argv, message", CLI_ROWS, ids=[" ".join(r[0]) for r in CLI_ROWS])
def test_bad_input_to_the_cli_exits_2_with_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "empty.py").write_text("x = 1\n\n\ndef make_dict():\n    return {}\n\n\n"
                                       "def make_with(x):\n    return x\n")
    (tmp_path / "broken.py").write_text("def act(obs)\n    return 0\n")
    (tmp_path / "raising.py").write_text("def make():\n    raise ValueError('my config bug')\n")
    (tmp_path / "raising_import.py").write_text("undefined\n")
    (tmp_path / "ppo.py").write_text("from ray.rllib.algorithms.ppo import PPOConfig\n\n\n"
                                     "def make():\n"
                                     "    return PPOConfig().environment('CartPole-v1')\n")
    (tmp_path / "samples-runner0-1.jsonl").write_text('{"time": 1.0}\n')
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    message = message.replace("{tmp}", str(tmp_path))
    assert cli_main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err or message in captured.out, captured
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("argv", [["trace", "DIR", "--last", "-1"], ["trace", "DIR", "--last",
                                                                     "x"], ["no-such-command"]])
def test_argument_errors_exit_2_before_anything_runs(argv, tmp_path, capsys):
    argv = [a.replace("DIR", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("argv, usage", [
    (["doctor", "DIR", "--bogus"], "usage: rldebug doctor "),  # was the top level's usage
    (["migrate", "--jsn", "DIR"], "usage: rldebug migrate "),
    (["--bogus", "doctor", "DIR"], "usage: rldebug [-h]")])
def test_an_unknown_flag_is_refused_by_the_parser_it_was_given_to(argv, usage, tmp_path, capsys):
    argv = [a.replace("DIR", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert f"unrecognized arguments: {next(a for a in argv if a.startswith('-'))}" in err


def test_trace_cli_notes_damaged_files_instead_of_failing(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, in the output, not also as a warning
        assert cli_main(["trace", str(_garbage_trace(tmp_path))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Skipped lines that are not trace records" in out
    assert "samples-runner0-1.jsonl: 1 line(s) (lines 1)" in out
    assert "truncated" not in out
    # profile says it too (it said nothing), in its JSON as well
    assert cli_main(["profile", str(tmp_path / "trace")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Skipped lines that are not trace records" in out
    assert cli_main(["profile", str(tmp_path / "trace"), "--json"]) == 0
    assert "samples-runner0-1.jsonl" in json.loads(capsys.readouterr().out)["skipped"]
    # nothing readable at all: refused (profile showed empty tables, exit 0)
    only_garbage = tmp_path / "only_garbage"
    only_garbage.mkdir()
    (only_garbage / "samples-runner0-1.jsonl").write_bytes(b"\x00\xff garbage\n")
    for command in ("trace", "profile"):
        assert cli_main([command, str(only_garbage)]) == 2
        assert "holds trace files but no readable record" in capsys.readouterr().err


def test_doctor_notes_a_damaged_trace_next_to_a_run(tmp_path):
    run = rldebug.run(tiny_arena_config(), stop={"training_iteration": 1}, logdir=tmp_path,
                      trace="summary", progress=False)
    run.algo.stop()
    (tmp_path / "trace" / "samples-runner0-1.jsonl").write_bytes(b"\x00\xff garbage\n")
    (trial,) = diagnose(tmp_path).trials
    damaged = [f for f in trial.findings if f.rule_id == "trace_damaged"]
    assert damaged and damaged[0].severity == "info"
    assert "samples-runner0-1.jsonl" in damaged[0].message


def test_the_installed_command_prints_no_traceback_and_debug_shows_it(tmp_path):
    base = [sys.executable, "-m", "rldebug.cli"]
    plain = subprocess.run([*base, "doctor", str(tmp_path / "nope")], capture_output=True,
                           text=True, timeout=120, check=False)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    bad = subprocess.run([*base, "inspect", str(tmp_path)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("rldebug inspect: error:")
    debug = subprocess.run([*base, "--debug", "inspect", str(tmp_path)], capture_output=True,
                           text=True, timeout=120, check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_runs_logdir_is_read_for_its_trace_as_reproduce_reads_it(tmp_path, capsys):
    """`rldebug trace RUN` refused a run's logdir (its trace is in RUN/trace) with a
    message that itself named <logdir>/trace; `rldebug reproduce RUN` took it."""
    import shutil
    from pathlib import Path

    run = Path(__file__).parent / "diff_runs" / "lr_1e-3" / "PPO_seed_0"  # traced
    from_run, from_trace = rldebug.load_trace(run), rldebug.load_trace(run / "trace")
    assert len(from_run.samples) == len(from_trace.samples) > 0
    assert cli_main(["trace", str(run)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    # and the other way round: a trace folder given to the doctor or diff names its run
    # (it said "No result.json ... below it", a bad-input audit)
    for command in (["doctor", str(run / "trace")], ["diff", str(run / "trace"), str(run)]):
        assert cli_main(command) == 2
        assert f"is a trace folder (rldebug.trace's records), which holds no result.json. " \
               f"The run that holds it has them (its trace is read with them): pass " \
               f"{str(run)!r}." in capsys.readouterr().err
    # Tune trials' traces (<out>/<trial>) are not read with any run's results: said so
    out = tmp_path / "out"
    shutil.copytree(run / "trace", out / "PPO_trial_00000")
    for folder in (out, out / "PPO_trial_00000"):
        assert cli_main(["doctor", str(folder)]) == 2
        err = capsys.readouterr().err
        assert "is a trace folder" in err and "this one is not" in err and \
            "`rldebug trace` or `rldebug reproduce`" in err


def test_notices_of_a_replay_are_said_by_reproduce_not_debug():
    """`rldebug reproduce` turns debug mode on: its notices read 'rldebug debug: ...'."""
    import subprocess
    import sys

    code = ("from rldebug.inprocess.debugging import debug_mode\n"
            "debug_mode(True, preflight=False, command='reproduce')\n"
            "import gym\n"
            "print('unused yet')\n"
            "gym.spaces.Discrete(2)\n"
            "from ray.rllib.agents.ppo import PPOTrainer\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rldebug reproduce: `ray.rllib.agents` (removed from RLlib) is provided" \
        in done.stderr
    # each said once, when the script first used it, not on every run
    assert done.stderr.count("`import gym` gives gymnasium") == 1
    assert "rldebug debug:" not in done.stderr


def test_trace_and_run_name_their_own_arguments_and_write_nothing_first(tmp_path):
    """trace(out=<a file>) said 'Pass logdir='; run(trace='bogus') wrote
    rldebug_config.pkl into the log directory before it refused the level."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = PPOConfig().environment("CartPole-v1")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ValueError, match=r"Pass out= \(--out on the command line\) a directory"):
        rldebug.trace(config, out=tmp_path / "a_file")
    with pytest.raises(ValueError, match="trace level must be one of"):
        rldebug.run(config, max_iterations=1, trace="bogus", logdir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


# ---- a report's output never overwrites what the command reads ------------------------

@pytest.fixture
def traced_run(tmp_path):
    """A copy of a stored, traced benchmark run (real RLlib: result.json and its trace)."""
    import shutil

    source = Path(__file__).parent / "doctor_faults" / "runs" / "ppo_cartpole__obs_zeroed__s0"
    return shutil.copytree(source, tmp_path / "run")


def _contents(folder: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_output_flag_never_overwrites_a_file_of_the_run(traced_run, tmp_path, capsys):
    """`doctor RUN --html RUN/result.json` emptied the run (the doctor then read it as
    "unreadable"); `profile --chrome-trace` over a trace file emptied that file."""
    before = _contents(traced_run)
    trace_file = next((traced_run / "trace").glob("iterations-*.jsonl"))
    for argv in (["doctor", str(traced_run), "--html", str(traced_run / "result.json")],
                 ["diff", str(traced_run), str(traced_run / ".." / "run"), "--html",
                  str(traced_run / "params.json")],
                 ["profile", str(traced_run / "trace"), "--chrome-trace", str(trace_file)],
                 ["profile", str(traced_run / "trace"), "--html", str(trace_file)]):
        assert cli_main(argv) == 2, argv
        assert "names an existing file that is not" in capsys.readouterr().err
    assert _contents(traced_run) == before
    # an earlier report of the same kind is written over, as before
    for argv in (["doctor", str(traced_run), "--html", str(tmp_path / "report.html")],
                 ["profile", str(traced_run / "trace"), "--chrome-trace",
                  str(tmp_path / "trace.json"), "--html", str(tmp_path / "profile.html")]):
        for _ in range(2):
            assert cli_main(argv) in (0, 1), argv
    assert json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert _contents(traced_run) == before


def _sigint_default():
    """Ctrl+C as in a shell: a test worker may ignore SIGINT (an in-process Ray does), and a
    child that starts with it ignored never gets Python's KeyboardInterrupt handler."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_a_command_with_one_line_and_130(tmp_path):
    """Ctrl+C printed a 20-frame KeyboardInterrupt traceback and exited 1."""
    import os
    import signal
    import time

    started = tmp_path / "started"
    (tmp_path / "slow.py").write_text(
        "import time\nfrom pathlib import Path\n\n\ndef make():\n"
        f"    Path({str(started)!r}).write_text('x')\n    time.sleep(120)\n")
    process = subprocess.Popen([sys.executable, "-m", "rldebug.cli", "check",
                                str(tmp_path / "slow.py:make")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_default)  # noqa: PLW1509 - only resets SIGINT
    deadline = time.time() + 120
    while not started.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert started.exists(), process.communicate()
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "rldebug check: interrupted (Ctrl+C)"


def test_ide_configs_refuses_unusable_folders_before_writing_anything(tmp_path, capsys):
    (tmp_path / ".idea").write_text("a file where PyCharm keeps a folder")
    assert cli_main(["ide-configs", "--root", str(tmp_path)]) == 2
    assert f"{tmp_path / '.idea'} is a file" in capsys.readouterr().err
    assert not (tmp_path / ".vscode").exists()  # VS Code's half was written first
    (tmp_path / ".idea").unlink()
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "launch.json").write_text('{"configurations": {"a": 1}}')
    assert cli_main(["ide-configs", "--root", str(tmp_path)]) == 2  # an AttributeError
    assert "'configurations' must be a list of JSON objects" in capsys.readouterr().err
    assert not (tmp_path / ".idea").exists()


def test_a_tune_trial_folder_given_for_a_checkpoint_names_the_checkpoint(tmp_path, capsys):
    import shutil

    from inspect_algos import checkpoint_of

    trial = tmp_path / "PPO_arena_00000"
    shutil.copytree(checkpoint_of("new"), trial / "checkpoint_000000")
    (trial / "result.json").write_text("")
    assert cli_main(["inspect", str(trial)]) == 2
    assert f"holds one: pass it, '{trial / 'checkpoint_000000'}'" in capsys.readouterr().err
    assert cli_main(["inspect", str(tmp_path)]) == 2  # the experiment above it
    assert "checkpoint_000000" in capsys.readouterr().err


def test_the_arena_config_takes_rllibs_schedules_and_tunes_search_spaces():
    """The override checks refused lr=[[0, 1e-3], ...] and tune.grid_search, which RLlib and
    Tune take."""
    from ray import tune

    schedule = [[0, 1e-3], [10_000, 1e-5]]
    assert rldebug.arena_ppo_config(lr=schedule).lr == schedule
    searched = rldebug.arena_ppo_config(lr=tune.grid_search([1e-3, 1e-4]),
                                        seed=tune.randint(0, 5))
    assert searched.lr == {"grid_search": [1e-3, 1e-4]}


def test_an_infinite_threshold_beside_a_finite_one_is_tunes_never(tmp_path):
    """Tune runs stop={"training_iteration": 2, "...return_mean": inf} to 2 iterations;
    `rldebug debug` hands Tune's stop dict to the same Stopper, so it must too."""
    run = run_tiny(stop={"training_iteration": 2, "env_runners/episode_return_mean": math.inf},
                   logdir=tmp_path)
    run.algo.stop()
    assert run.stopped_by.startswith("training_iteration")
    assert run.iterations == 2


def test_a_run_stopped_by_ctrl_c_says_so_to_the_doctor(tmp_path):
    """A run stopped by Ctrl+C left a whole run's files and no trace of the stop: the
    doctor called it "healthy (info only)" with no hint it ended early."""
    import os
    import signal
    import time

    logdir = tmp_path / "run"
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "import rldebug\nfrom tiny import tiny_arena_config\n"
              "rldebug.run(tiny_arena_config(), stop={'training_iteration': 10000}, "
              f"logdir={str(logdir)!r}, progress=False)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_default)  # noqa: PLW1509 - only resets SIGINT
    results = logdir / "result.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None and (
            not results.is_file() or len(results.read_text().splitlines()) < 2):
        time.sleep(0.5)
    assert process.poll() is None, process.communicate()
    os.kill(process.pid, signal.SIGINT)
    process.communicate(timeout=120)
    finished = len(results.read_text().splitlines())
    said = (logdir / "interrupted.txt").read_text()
    assert said.startswith(f"Interrupted by Ctrl+C (KeyboardInterrupt) after iteration "
                           f"{finished} ")
    (trial,) = diagnose(logdir).trials
    assert trial.notes[0].startswith("Interrupted by Ctrl+C") and len(trial.history) == finished
    assert "What follows covers only the iterations it finished." in trial.notes[0]


def test_a_reader_that_leaves_early_gets_no_error(tmp_path):
    """`rldebug doctor DIR --json | head` printed "BrokenPipeError" to stderr."""
    corpus = Path(__file__).parent / "doctor_corpus"
    process = subprocess.Popen([sys.executable, "-m", "rldebug.cli", "doctor", str(corpus),
                                "--json", "--all"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout.read(100).startswith(b"{")  # 87 KB follow: more than a pipe holds
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "BrokenPipe" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv, command, said", [
    (["parity", "DIR", "--json"], "parity", "the following arguments are required: --policy"),
    (["doctor", "DIR", "--json", "--bogus"], "doctor", "unrecognized arguments: --bogus")])
def test_the_parsers_refusals_are_json_too_for_a_json_reader(argv, command, said, tmp_path,
                                                              capsys):
    """cli.md promised unusable input as JSON with --json; the parser's refusals printed
    only argparse's usage block."""
    with pytest.raises(SystemExit) as exit_:
        cli_main([a.replace("DIR", str(tmp_path)) for a in argv])
    assert exit_.value.code == 2
    out = json.loads(capsys.readouterr().out)
    assert out["command"] == command and said in out["error"] and out["exit_code"] == 2
