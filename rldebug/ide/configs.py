"""VS Code and PyCharm run configurations for ``rldebug demo`` and every recipe.

``write_ide_configs(repo_root)`` (re)writes:

- ``.vscode/launch.json``: a debugpy *launch* configuration for ``rldebug demo``,
  for "rldebug: reproduce a trace event" (``rldebug reproduce DIR --event N``, asking
  for both, stopping at the event's step), for "rldebug: debug current file" (``rldebug debug`` on the file open in the
  editor: any RLlib script, its Tune trials in-process) and for each ``recipes/*.py`` (with ``--smoke``, in-process, ``justMyCode:
  false`` so breakpoints inside RLlib are hit), and an *attach* configuration
  for :func:`rldebug.ide.attach_remote` on 127.0.0.1:5678. A configuration is
  replaced only when it has the name of one it generates (a recipe's that is gone is
  removed); yours, copies of its own under another name included, and every other key
  of the file are kept.
- ``.vscode/settings.json``: pytest enabled, the venv's interpreter (other
  keys are kept).
- ``.idea/runConfigurations/rldebug_*.xml``: PyCharm Python run configurations
  for the same launches, and a "Python Debug Server" on 127.0.0.1:5678 for
  ``attach_remote(..., client="pycharm")`` (a recipe's file whose recipe is gone is
  removed; any other file, yours included, stays).

Run it again after adding a recipe::

    python -c "import rldebug.ide as i; i.write_ide_configs('.')"
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from rldebug.ide._listen import DEFAULT_PORT, HOST
from rldebug.usage import UsageError, UsageTypeError, check_can_write

GROUP = "rldebug"
# Stands for the file open in the editor: ${file} in VS Code, $FilePath$ in PyCharm.
CURRENT_FILE = "<current file>"
_CURRENT_FILE_IN = {"vscode": "${file}", "pycharm": "$FilePath$"}
# Stands for the script's own arguments, typed when the configuration starts: VS Code's
# pickArgs, in a string "args" (the only form VS Code splits into words). VS Code only:
# PyCharm escapes a macro's value ($Prompt$) into one parameter before it splits them.
SCRIPT_ARGS = "<script arguments>"
# Values asked for when the configuration starts: VS Code inputs, PyCharm's $Prompt$.
PROMPTS = {"<trace dir>": ("rldebugTraceDir", "Reproducible trace or run directory"),
           "<event>": ("rldebugEvent", "Event number (rldebug reproduce DIR lists them)")}
# a project's own interpreter, where IDEs and tools make it (POSIX, then Windows)
VENV_PYTHONS = (".venv/bin/python", "venv/bin/python", ".venv/Scripts/python.exe",
                "venv/Scripts/python.exe")
PYCHARM_PREFIX = "rldebug_"
RECIPE_PREFIX = "recipe: "  # recipes come and go: a gone recipe's configuration is removed


@dataclass(frozen=True)
class Launch:
    """One thing to run: a module (``python -m``) or a script, with arguments."""

    name: str
    args: tuple[str, ...]
    module: str | None = None
    script: str | None = None  # relative to the repo root

    @property
    def in_pycharm(self) -> bool:
        """Whether PyCharm can run it as written (not when it asks for words to split)."""
        return SCRIPT_ARGS not in self.args


def _is_rldebug_repository(root: Path) -> bool:
    return (root / "rldebug" / "__init__.py").is_file() and (root / "recipes").is_dir()


def launches(repo_root: Path) -> list[Launch]:
    """``rldebug demo``, ``rldebug debug`` on the current file, reproducing a trace
    event, and in rldebug's own repository one launch per ``recipes/*.py`` (sorted)."""
    found = [Launch("rldebug demo (in-process)", ("demo",), module="rldebug.cli"),
             Launch("rldebug: debug current file", ("debug", CURRENT_FILE), module="rldebug"),
             Launch("rldebug: debug current file with arguments",
                    ("debug", CURRENT_FILE, SCRIPT_ARGS), module="rldebug"),
             Launch("rldebug: reproduce a trace event",
                    ("reproduce", "<trace dir>", "--event", "<event>", "--mode", "break"),
                    module="rldebug")]
    recipes = sorted((repo_root / "recipes").glob("*.py")) \
        if _is_rldebug_repository(repo_root) else []
    for recipe in recipes:
        found.append(Launch(f"{RECIPE_PREFIX}{recipe.stem} --smoke", ("--smoke",),
                            script=f"recipes/{recipe.name}"))
    return found


def _vscode_launch(launch: Launch, python: str) -> dict:
    config = {"name": launch.name, "type": "debugpy", "request": "launch"}
    if launch.module:
        config["module"] = launch.module
    else:
        config["program"] = "${workspaceFolder}/" + launch.script
    args = [_vscode_arg(a) for a in launch.args]
    if SCRIPT_ARGS in launch.args:  # one string, given to the terminal's shell as it is
        args = " ".join(f'"{a}"' if a == _CURRENT_FILE_IN["vscode"] else a for a in args)
    config.update({
        "args": args,
        "python": python,
        "cwd": "${workspaceFolder}",
        "console": "integratedTerminal",
        "justMyCode": False,
        "presentation": {"group": GROUP},
    })
    return config


def _vscode_arg(arg: str) -> str:
    if arg == CURRENT_FILE:
        return _CURRENT_FILE_IN["vscode"]
    if arg in PROMPTS:
        return "${input:" + PROMPTS[arg][0] + "}"
    if arg == SCRIPT_ARGS:
        return "${command:pickArgs}"
    return arg


def vscode_inputs() -> list[dict]:
    return [{"id": key, "type": "promptString", "description": text}
            for key, text in PROMPTS.values()]


def vscode_attach(port: int = DEFAULT_PORT) -> dict:
    """The attach configuration for :func:`rldebug.ide.attach_remote`."""
    return {
        "name": f"rldebug: attach to remote EnvRunner ({HOST}:{port})",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": HOST, "port": port},
        "justMyCode": False,
        "presentation": {"group": GROUP},
    }


# a JSON string, or a comment / a trailing comma outside one (VS Code's files are JSONC)
_JSONC_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_JSONC_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,(\s*[}\]])')


def _read_json(path: Path) -> tuple[dict, bool]:
    """The file's object, and whether it had comments or trailing commas (VS Code writes
    its launch.json with comments), which a rewrite cannot keep."""
    if not path.exists():
        return {}, False
    if not path.is_file():
        raise UsageError(f"{path} is not a file (a folder?); write_ide_configs merges into "
                         "that file. Move it away and run again.")
    text = path.read_text()
    plain = _JSONC_COMMENT.sub(lambda m: m.group(1) or "", text)
    plain = _JSONC_TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), plain)
    try:
        data = json.loads(plain)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path} is not JSON (with comments) ({error}); write_ide_configs merges into "
            "it. Fix it, or move the file away and merge your own entries back "
            "afterwards.") from error
    if not isinstance(data, dict):
        raise UsageError(f"{path} holds a {type(data).__name__}, not a JSON object; fix it "
                         "or move it away.")
    for key in LISTS_OF_OBJECTS:
        entries = data.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise UsageError(f"{path}: {key!r} must be a list of JSON objects (as VS Code "
                             f"writes it), got {json.dumps(entries)[:80]}; fix it or move "
                             "the file away.")
    return data, plain != text


# the keys of launch.json that write_ide_configs merges entry by entry
LISTS_OF_OBJECTS = ("configurations", "inputs")


def _folder(path: Path) -> Path:
    """``path`` as a folder for the IDE's files, made if missing; a file there is refused."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file, where the IDE keeps a folder of its settings; "
                         "move that file away and run again.")
    path.mkdir(exist_ok=True)
    return path


def _kept(path: Path, had_comments: bool) -> list[Path]:
    """A file whose comments a rewrite drops is first copied beside it, as it was (an
    earlier copy is not written over: ``.before-rldebug.2`` and on)."""
    if not had_comments:
        return []
    backup = path.with_name(path.name + ".before-rldebug")
    number = 1
    while backup.exists():
        number += 1
        backup = path.with_name(f"{path.name}.before-rldebug.{number}")
    backup.write_text(path.read_text())
    return [backup]


@functools.cache
def _has_rldebug(python: str) -> bool:
    """Whether that Python imports rldebug (the configurations run ``-m rldebug``)."""
    try:
        # isolated, from the venv's own folder: a checkout's rldebug/ in the current
        # folder (or PYTHONPATH) is not what the IDE's launch will import
        return subprocess.run([python, "-I", "-c", "import rldebug"], capture_output=True,
                              timeout=60, check=False,
                              cwd=Path(python).parent).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def interpreter(repo_root: Path, ide: str) -> str:
    """The Python the configurations run: the project's own venv (``.venv`` or ``venv``)
    when it has rldebug installed, else the one running this (which has)."""
    for venv_python in VENV_PYTHONS:
        if (repo_root / venv_python).is_file() and _has_rldebug(str(repo_root / venv_python)):
            return ("${workspaceFolder}/" if ide == "vscode" else "$PROJECT_DIR$/") + \
                venv_python
    return os.path.normpath(sys.executable)


def interpreter_notes(repo_root: Path) -> list[str]:
    """What a user should know about the interpreter chosen: a venv of the project's
    that lacks rldebug (the configurations would fail with "No module named rldebug")."""
    return [f"{repo_root / venv_python} has no rldebug installed, so the configurations run "
            f"{os.path.normpath(sys.executable)}; install rldebug into that venv and run "
            "ide-configs again to use it."
            for venv_python in VENV_PYTHONS
            if (repo_root / venv_python).is_file()
            and not _has_rldebug(str(repo_root / venv_python))]


def write_vscode(repo_root: Path, port: int = DEFAULT_PORT) -> list[Path]:
    folder = _folder(repo_root / ".vscode")
    launch_path = folder / "launch.json"
    existing, had_comments = _read_json(launch_path)
    kept = _kept(launch_path, had_comments)
    python = interpreter(repo_root, "vscode")
    generated = [_vscode_launch(launch, python) for launch in launches(repo_root)] + \
        [vscode_attach(port)]
    names = {c["name"] for c in generated}
    own = [c for c in existing.get("configurations", []) if not (
        c.get("name") in names or (c.get("presentation", {}).get("group") == GROUP
                                   and str(c.get("name", "")).startswith(RECIPE_PREFIX)))]
    ours = {key for key, _ in PROMPTS.values()}
    inputs = vscode_inputs() + [i for i in existing.get("inputs", []) if i.get("id") not in ours]
    launch = {"version": "0.2.0", **existing, "configurations": generated + own,
              "inputs": inputs}  # the file's other keys (compounds, ...) stay
    launch_path.write_text(json.dumps(launch, indent=4) + "\n")

    settings_path = folder / "settings.json"
    settings, had_comments = _read_json(settings_path)
    kept += _kept(settings_path, had_comments)
    # the project's own settings stay: only what is not set yet is added
    settings.setdefault("python.defaultInterpreterPath", python)
    if (repo_root / "tests").is_dir():
        settings.setdefault("python.testing.pytestEnabled", True)
        settings.setdefault("python.testing.unittestEnabled", False)
        settings.setdefault("python.testing.pytestArgs", ["tests", "-q"])
    settings_path.write_text(json.dumps(settings, indent=4) + "\n")
    return [launch_path, settings_path, *kept]


def pycharm_file_name(launch: Launch) -> str:
    return PYCHARM_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", launch.name).strip("_") + ".xml"


def _pycharm_xml(launch: Launch, sdk_home: str) -> str:
    target = launch.module or "$PROJECT_DIR$/" + launch.script
    options = {
        "INTERPRETER_OPTIONS": "",
        "PARENT_ENVS": "true",
        "SDK_HOME": sdk_home,
        "WORKING_DIRECTORY": "$PROJECT_DIR$",
        "IS_MODULE_SDK": "false",
        "ADD_CONTENT_ROOTS": "true",
        "ADD_SOURCE_ROOTS": "true",
        "SCRIPT_NAME": target,
        "PARAMETERS": " ".join(_CURRENT_FILE_IN["pycharm"] if a == CURRENT_FILE else
                               "$Prompt$" if a in PROMPTS else a for a in launch.args),
        "SHOW_COMMAND_LINE": "false",
        "EMULATE_TERMINAL": "false",
        "MODULE_MODE": "true" if launch.module else "false",
        "REDIRECT_INPUT": "false",
        "INPUT_FILE": "",
    }
    lines = ['<component name="ProjectRunConfigurationManager">',
             (f'  <configuration default="false" name={quoteattr(launch.name)} '
              'type="PythonConfigurationType" factoryName="Python">'),
             '    <envs>',
             '      <env name="PYTHONUNBUFFERED" value="1" />',
             '    </envs>']
    lines += [f'    <option name="{key}" value={quoteattr(value)} />'
              for key, value in options.items()]
    lines += ['    <method v="2" />', '  </configuration>', '</component>']
    return "\n".join(lines) + "\n"


def pycharm_debug_server_name(port: int = DEFAULT_PORT) -> str:
    return f"rldebug: remote actor (Python Debug Server, port {port})"


def _pycharm_debug_server_xml(port: int) -> str:
    """PyCharm's "Python Debug Server": it listens on HOST:port and a remote actor made by
    ``attach_remote(..., client="pycharm", port=port)`` connects to it."""
    name = quoteattr(pycharm_debug_server_name(port))
    return "\n".join([
        '<component name="ProjectRunConfigurationManager">',
        (f'  <configuration default="false" name={name} type="PyRemoteDebugConfigurationType" '
         'factoryName="Python Remote Debug">'),
        f'    <option name="PORT" value="{port}" />',
        f'    <option name="HOST" value="{HOST}" />',
        '    <PathMappingSettings>',
        '      <option name="pathMappings">',
        '        <list />',
        '      </option>',
        '    </PathMappingSettings>',
        '    <method v="2" />',
        '  </configuration>',
        '</component>']) + "\n"


def write_pycharm(repo_root: Path, port: int = DEFAULT_PORT) -> list[Path]:
    folder = _folder(_folder(repo_root / ".idea") / "runConfigurations")
    server = folder / f"{PYCHARM_PREFIX}remote_actor_debug_server.xml"
    server.write_text(_pycharm_debug_server_xml(port))
    written = [server]
    for launch in filter(lambda launch: launch.in_pycharm, launches(repo_root)):
        path = folder / pycharm_file_name(launch)
        path.write_text(_pycharm_xml(launch, interpreter(repo_root, "pycharm")))
        written.append(path)
    for stale in set(folder.glob(f"{PYCHARM_PREFIX}recipe_*.xml")) - set(written):
        stale.unlink()  # a recipe that is gone; other files, the user's too, stay
    return written


def enclosing_project(root: Path) -> Path | None:
    """A folder above ``root`` that holds a project's ``.git``, ``.vscode`` or ``.idea``
    when ``root`` holds none: the folder the IDE opens, and reads configurations from."""
    marks = (".git", ".vscode", ".idea")
    if any((root / mark).exists() for mark in marks):
        return None
    return next((parent for parent in root.parents
                 if any((parent / mark).exists() for mark in marks)), None)


def write_ide_configs(repo_root: str | Path, port: int = DEFAULT_PORT) -> list[Path]:
    """(Re)write the VS Code and PyCharm configurations of the project at ``repo_root``.

    :param repo_root: the project (your repository; in rldebug's own, recipes get
        configurations too).
    :param port: ``attach_remote``'s port: of the VS Code attach configuration and of
        PyCharm's Python Debug Server.
    :returns: the files written (a launch.json or settings.json with comments is copied
        to ``<name>.before-rldebug`` first: the rewrite cannot keep them).
    :raises FileNotFoundError: if ``repo_root`` is not a folder.
    """
    if not isinstance(repo_root, (str, Path)) or not str(repo_root):
        raise UsageTypeError(f"write_ide_configs needs your project's root folder (a str or "
                             f"pathlib.Path; '.' for this one), got {repo_root!r:.80}.")
    root = Path(repo_root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"write_ide_configs: {root} is not a folder; pass your "
                                "project's root folder (where .vscode/ and .idea/ go).")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise UsageError(f"write_ide_configs(port=...) (--port) takes a TCP port, 1-65535, "
                         f"got {port!r}.")
    check_can_write(root, "--root")
    # every place is checked before anything is written: no half-written set of files
    for folder in (".vscode", ".idea", ".idea/runConfigurations"):
        if (root / folder).exists() and not (root / folder).is_dir():
            _folder(root / folder)  # raises, saying so
        if (root / folder).is_dir():
            check_can_write(root / folder, "--root")
    for name in ("launch.json", "settings.json"):
        if (root / ".vscode" / name).is_file():
            check_can_write(root / ".vscode" / name, "--root")
    for name in ("launch.json", "settings.json"):
        _read_json(root / ".vscode" / name)
    return write_vscode(root, port) + write_pycharm(root, port)
