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
from rldebug.inspection import CheckpointError
from rldebug.reproduction import ReproduceError
from rldebug.usage import EXIT_UNUSABLE, UsageError, UsageTypeError

PACKAGE = Path(rldebug.__file__).parent

# Raises of a bare ValueError/TypeError that are not about a user's input, with the reason.
INTERNAL_RAISES = {
    ("doctor/reading.py", "ValueError"): "a JSON line that is not an object; callers skip it",
    ("tracing/replay_state.py", "TypeError"): "names the env attribute pickle refused; the "
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
            for path in sorted(PACKAGE.rglob("*.py"))
            if path != PACKAGE / "arena" / "env.py"  # the example env raises as Gymnasium's do
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
    import rldebug.compat.migrate

    def broken(path):
        raise error

    monkeypatch.setattr(rldebug.compat.migrate, "migrations", broken)


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
    caught = set(rldebug.usage.USAGE_ERRORS)  # what rldebug.cli catches
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
    classes += attach_remote(config, runner_index=1, port=5999, post_mortem=True).callbacks_class
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


def test_with_settings_takes_a_callback_class():
    """A name, an instance or a class that is no callback gave a raw AttributeError, or
    was taken and failed later in RLlib."""
    import dataclasses

    from ray.rllib.callbacks.callbacks import RLlibCallback

    from rldebug.callbacks.compose import with_settings

    @dataclasses.dataclass(frozen=True)
    class Settings:
        x: int = 1

    class Mine(RLlibCallback):
        pass

    assert with_settings(Mine, Settings()).settings == Settings()
    for bad, said in (("Mine", "takes a class"), (Mine(), "takes a class"),
                      (int, "RLlibCallback subclass, got int")):
        with pytest.raises(TypeError, match=said):
            with_settings(bad, Settings())


# ---- a layout whose rooms are named for their jobs ----------------------------------------

# The modules at the top of the package: the command line, what every tool shares, and
# the single-module tools. Everything else lives in a package named for its job.
TOP_LEVEL_MODULES = {"__init__", "__main__", "_moved", "cli", "usage", "relay", "htmlfile", "tbfile",
                     "widetables", "traps", "breakpoint_hook"}


def test_loose_modules_are_only_the_shared_ones():
    loose = {path.stem for path in PACKAGE.glob("*.py")}
    assert loose == TOP_LEVEL_MODULES, sorted(loose ^ TOP_LEVEL_MODULES)


def test_no_module_shares_a_public_functions_name():
    """A submodule named like a function its package exports would replace the function
    on the package the moment anything imports the submodule."""
    import importlib

    clashes = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        package = importlib.import_module(_module_name(init))
        submodules = {path.stem for path in init.parent.glob("*.py")} | \
            {path.parent.name for path in init.parent.glob("*/__init__.py")}
        exported = set(getattr(package, "__all__", ())) | set(getattr(package, "_LAZY", ()))
        clashes += [f"{package.__name__}.{name}" for name in sorted(submodules & exported)
                    if callable(getattr(package, name))]
    assert clashes == [], clashes


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path, known: set[str]):
    """The rldebug modules a module imports when it is imported (not inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else \
        _module_name(path).rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        yield from (name for name in names if name in known)


def test_no_import_circles():
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: set(_module_level_imports(path, set(paths))) - {name}
             for name, path in paths.items()}
    # an import of a.b.c also runs a and a.b: the packages' __init__ count as edges
    for name, imports in graph.items():
        for imported in list(imports):
            parts = imported.split(".")
            imports.update(".".join(parts[:i]) for i in range(2, len(parts))
                           if ".".join(parts[:i]) != name and
                           not name.startswith(".".join(parts[:i]) + "."))
    circles, state = [], {}

    def visit(name, stack):
        state[name] = "open"
        for imported in sorted(graph[name]):
            if state.get(imported) == "open":
                circles.append(stack[stack.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, [*stack, imported])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, circles


def test_the_tools_never_import_the_tutorials_example():
    allowed = {"rldebug.inprocess.demo", "rldebug.inprocess.cli"}  # `rldebug demo`, `run`'s default
    importers = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        if name.startswith("rldebug.arena") or name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(m and m.startswith("rldebug.arena") for m in [module, *names]):
                importers.append((name, node.lineno))
    # rldebug.callbacks' deprecated ArenaEvents name is the one exception, for one release
    assert [i[0] for i in importers] == ["rldebug.callbacks"], importers


# ---- one way to register a command ---------------------------------------------------------

def test_every_command_is_registered_by_the_module_of_its_feature():
    import argparse
    from importlib import import_module

    cli_source = Path(rldebug.cli.__file__).read_text()
    assert "add_parser(" not in cli_source  # cli.py builds no command itself
    registered = {}
    for module in rldebug.cli.COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers(dest="command")
        import_module(module).add_commands(subparsers)
        for command in subparsers.choices:
            assert command not in registered, (command, module, registered.get(command))
            registered[command] = module
    main_commands = rldebug.cli.build_parser()._subparsers._group_actions[0].choices
    assert set(main_commands) == set(registered)
    assert {"demo", "run", "debug", "check", "probe", "parity", "export", "diff", "reproduce",
            "ide-configs", "inspect", "trace", "profile", "doctor", "migrate"} == set(registered)


# ---- old import paths, for one release ----------------------------------------------------

OLD_PATHS = [
    ("rldebug.configs", "arena_ppo_config", "rldebug.arena.config"),
    ("rldebug.envs", "MultiAgentArena", "rldebug.arena"),
    ("rldebug.envs.arena", "MultiAgentArena", "rldebug.arena.env"),
    ("rldebug.models", "DenseStackModule", "rldebug.arena.model"),
    ("rldebug.callbacks.arena_events", "ArenaEvents", "rldebug.arena.events"),
    ("rldebug.local", "local_mode", "rldebug.inprocess.local"),
    ("rldebug.run", "RunResult", "rldebug.inprocess.training"),
    ("rldebug.runlog", "RunLogger", "rldebug.inprocess.runlog"),
    ("rldebug.legacy", "gymnasium_env", "rldebug.compat.legacy"),
    ("rldebug.migrate", "migrations", "rldebug.compat.migrate"),
    ("rldebug.trace", "load_trace", "rldebug.tracing"),
    ("rldebug.trace.reading", "load_trace", "rldebug.tracing.reading"),
    ("rldebug.inspect", "explain", "rldebug.inspection"),
    ("rldebug.inspect.checkpoint", "load", "rldebug.inspection.checkpoint"),
    ("rldebug.diff", "diff", "rldebug.rundiff"),
    ("rldebug.reproduce", "reproducible_events", "rldebug.reproduction"),
    ("rldebug.preflight", "Trap", "rldebug.traps"),
]


def test_the_old_import_paths_still_work_each_with_a_warning():
    import subprocess
    import sys

    # a fresh interpreter, where no old module has been imported (each warns once)
    code = """
import importlib, json, sys, warnings
import rldebug
failures = []
for old, name, new in json.loads(sys.argv[1]):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = getattr(importlib.import_module(old), name)
    if got is not getattr(importlib.import_module(new), name):
        failures.append(f"{old}.{name} is not {new}.{name}")
    warned = [str(w.message) for w in seen if w.category is DeprecationWarning]
    if not warned or new not in warned[0]:
        failures.append(f"{old}: no DeprecationWarning naming {new}: {warned}")
for public in ("run", "trace", "inspect", "diff", "reproduce", "preflight"):
    if not callable(getattr(rldebug, public)):
        failures.append(f"rldebug.{public} is no longer the function")
print(json.dumps(failures))
"""
    import json

    done = subprocess.run([sys.executable, "-c", code, json.dumps(OLD_PATHS)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_a_pickle_that_names_an_old_module_still_loads():
    import pickle

    from rldebug.arena.model import DenseStackModule

    old = pickle.dumps(DenseStackModule, protocol=0).replace(b"rldebug.arena.model", b"rldebug.models")
    assert b"rldebug.models" in old
    assert pickle.loads(old) is DenseStackModule
