"""One convention per kind of thing, checked over the whole package.

Usage errors: rldebug rejects unusable input with ``rldebug.usage.UsageError`` (a ``ValueError``) or
``UsageTypeError`` (also a ``TypeError``); the command line turns exactly those (and a
missing or unreadable path) into ``rldebug CMD: error: ...`` with exit 2. Anything else is
a failure or a bug: exit 1 with the exception's type and the way to its traceback.

Settings: every tool configures the callback or Learner class it adds to a config with
``rldebug.callbacks.compose.with_settings`` (one frozen dataclass, read as
``self.settings``); no tool builds classes with ``type(name, bases, dict)`` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rldebug
import rldebug.cli
from rldebug.cli import main as cli_main
from rldebug.doctor import UnusableInputError
from rldebug.envcheck.check import EnvCheckError, OldGymAPIError
from rldebug.inspect import CheckpointError
from rldebug.reproduce import ReproduceError
from rldebug.usage import EXIT_UNUSABLE, UsageError, UsageTypeError

PACKAGE = Path(rldebug.__file__).parent

# Raises of a bare ValueError/TypeError that are not about a user's input, with the reason.
INTERNAL_RAISES = {
    ("doctor/reading.py", "ValueError"): "a JSON line that is not an object; callers skip it",
    ("trace/replay_state.py", "TypeError"): "names the env attribute pickle refused; the "
                                            "recorder reports it as a warning",
}


def _bare_raises(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                isinstance(node.exc.func, ast.Name) and \
                node.exc.func.id in ("ValueError", "TypeError"):
            yield node.exc.func.id, node.lineno


def test_every_tool_raises_the_one_usage_exception():
    bare = [(str(path.relative_to(PACKAGE)), name, line)
            for path in sorted(PACKAGE.rglob("*.py")) if "envs" not in path.parts
            for name, line in _bare_raises(path)]
    unexplained = [b for b in bare if b[:2] not in INTERNAL_RAISES]
    assert not unexplained, f"raise UsageError/UsageTypeError instead: {unexplained}"
    assert {b[:2] for b in bare} == set(INTERNAL_RAISES), "an allowed raise is gone"


@pytest.mark.parametrize("kind", [UnusableInputError, EnvCheckError, OldGymAPIError,
                                  CheckpointError, ReproduceError, UsageTypeError])
def test_each_tools_own_kind_is_a_usage_error(kind):
    assert issubclass(kind, UsageError) and issubclass(kind, ValueError)


def test_a_wrong_type_is_still_a_type_error_for_library_callers():
    with pytest.raises(TypeError, match="AlgorithmConfig") as caught:
        rldebug.run("PPO", stop={"training_iteration": 1})
    assert isinstance(caught.value, UsageError)


def _command_raising(monkeypatch, error: Exception):
    """`rldebug migrate` whose work raises ``error`` (as a bug inside a tool would)."""
    import rldebug.migrate

    def broken(path):
        raise error

    monkeypatch.setattr(rldebug.migrate, "migrations", broken)


@pytest.mark.parametrize("error", [ValueError("invalid literal for int() with base 10: 'x'"),
                                   TypeError("'NoneType' object is not subscriptable"),
                                   KeyError("env_runners")])
def test_an_internal_error_is_not_dressed_as_unusable_input(error, monkeypatch, tmp_path,
                                                            capsys):
    _command_raising(monkeypatch, error)
    assert cli_main(["migrate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"rldebug migrate: {type(error).__name__}:" in err and "--debug" in err
    assert "error:" not in err.split(type(error).__name__)[0]


def test_a_usage_error_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    _command_raising(monkeypatch, UsageError("'x.py' does not exist; pass a .py file."))
    assert cli_main(["migrate", str(tmp_path)]) == EXIT_UNUSABLE
    assert "'x.py' does not exist" in capsys.readouterr().err


def test_debug_shows_an_internal_errors_traceback(monkeypatch, tmp_path):
    _command_raising(monkeypatch, ValueError("internal"))
    with pytest.raises(ValueError, match="internal"):
        cli_main(["--debug", "migrate", str(tmp_path)])


def test_the_cli_catches_nothing_broader_than_usage_and_path_errors():
    caught = set(rldebug.cli._USAGE_ERRORS)
    assert UsageError in caught
    assert not caught & {ValueError, TypeError, KeyError, Exception}


# ---- one way to configure a callback or Learner class -------------------------------------

def _class_factories(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "type" and len(node.args) == 3:
            yield node.lineno


def test_no_tool_builds_its_own_configured_classes():
    made = [(str(path.relative_to(PACKAGE)), line) for path in sorted(PACKAGE.rglob("*.py"))
            for line in _class_factories(path)]
    assert [m[0] for m in made] == ["callbacks/compose.py"], made


def _configured_classes(tmp_path):
    from tiny import tiny_arena_config

    from rldebug.callbacks import InfoEvents
    from rldebug.doctor import DoctorCallback
    from rldebug.ide import attach_remote, break_on

    config = tiny_arena_config()
    config.env_runners(num_env_runners=1)
    traced = rldebug.trace(config, out=tmp_path / "trace", level="summary")
    classes = [*traced.callbacks_class, traced.learner_class,
               InfoEvents.counting("collision"), DoctorCallback.configured(console=False)]
    classes += break_on(config, reward_below=-5.0).callbacks_class
    classes += attach_remote(config, runner_index=1, port=5999, wait=False).callbacks_class
    return classes


def test_every_configured_class_carries_one_frozen_settings_object(tmp_path):
    import dataclasses

    import cloudpickle

    configured = [c for c in _configured_classes(tmp_path) if "settings" in vars(c)]
    names = sorted(c.__name__ for c in configured)
    assert names == ["AttachRemote", "BreakOn", "DoctorCallback", "InfoEvents",
                     "TraceCallbacks", "TracedPPOTorchLearner"], names
    for cls in configured:
        settings = cls.settings
        assert dataclasses.is_dataclass(settings), cls
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.__setattr__(dataclasses.fields(settings)[0].name, None)
        shipped = cloudpickle.loads(cloudpickle.dumps(cls))  # as Ray sends it to a runner
        assert shipped.settings == settings and shipped.__mro__[1:] == cls.__mro__[1:]


def test_with_settings_takes_only_a_frozen_dataclass():
    import dataclasses

    from rldebug.callbacks.compose import with_settings

    @dataclasses.dataclass
    class Loose:
        x: int = 1

    for bad in ({"x": 1}, Loose(), Loose):
        with pytest.raises(TypeError, match="frozen dataclass"):
            with_settings(object, bad)
