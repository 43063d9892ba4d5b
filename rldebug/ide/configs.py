"""VS Code and PyCharm run configurations for ``rldebug demo`` and every recipe.

``write_ide_configs(repo_root)`` (re)writes:

- ``.vscode/launch.json``: a debugpy *launch* configuration for ``rldebug demo``,
  for "rldebug: reproduce a trace event" (``rldebug reproduce DIR --event N``, asking
  for both, stopping at the event's step), for "rldebug: debug current file" (``rldebug debug`` on the file open in the
  editor: any RLlib script, its Tune trials in-process) and for each ``recipes/*.py`` (with ``--smoke``, in-process, ``justMyCode:
  false`` so breakpoints inside RLlib are hit), and an *attach* configuration
  for :func:`rldebug.ide.attach_remote` on 127.0.0.1:5678. Configurations it
  did not generate (no ``"presentation": {"group": "rldebug"}``) are kept.
- ``.vscode/settings.json``: pytest enabled, the venv's interpreter (other
  keys are kept).
- ``.idea/runConfigurations/rldebug_*.xml``: PyCharm Python run configurations
  for the same launches, and a "Python Debug Server" on 127.0.0.1:5678 for
  ``attach_remote(..., client="pycharm")`` (stale ``rldebug_*.xml`` files are removed).

Run it again after adding a recipe::

    python -c "import rldebug.ide as i; i.write_ide_configs('.')"
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from rldebug.ide._listen import DEFAULT_PORT, HOST
from rldebug.usage import UsageError

GROUP = "rldebug"
# Stands for the file open in the editor: ${file} in VS Code, $FilePath$ in PyCharm.
CURRENT_FILE = "<current file>"
_CURRENT_FILE_IN = {"vscode": "${file}", "pycharm": "$FilePath$"}
# Values asked for when the configuration starts: VS Code inputs, PyCharm's $Prompt$.
PROMPTS = {"<trace dir>": ("rldebugTraceDir", "Reproducible trace or run directory"),
           "<event>": ("rldebugEvent", "Event number (rldebug reproduce DIR lists them)")}
VENV_PYTHON = ".venv/bin/python"
PYCHARM_PREFIX = "rldebug_"


@dataclass(frozen=True)
class Launch:
    """One thing to run: a module (``python -m``) or a script, with arguments."""

    name: str
    args: tuple[str, ...]
    module: str | None = None
    script: str | None = None  # relative to the repo root


def launches(repo_root: Path) -> list[Launch]:
    """``rldebug demo``, ``rldebug debug`` on the current file, and one launch per
    ``recipes/*.py`` (sorted)."""
    found = [Launch("rldebug demo (in-process)", ("demo",), module="rldebug.cli"),
             Launch("rldebug: debug current file", ("debug", CURRENT_FILE), module="rldebug"),
             Launch("rldebug: reproduce a trace event",
                    ("reproduce", "<trace dir>", "--event", "<event>", "--mode", "break"),
                    module="rldebug")]
    for recipe in sorted((repo_root / "recipes").glob("*.py")):
        found.append(Launch(f"recipe: {recipe.stem} --smoke", ("--smoke",),
                            script=f"recipes/{recipe.name}"))
    return found


def _vscode_launch(launch: Launch) -> dict:
    config = {"name": launch.name, "type": "debugpy", "request": "launch"}
    if launch.module:
        config["module"] = launch.module
    else:
        config["program"] = "${workspaceFolder}/" + launch.script
    config.update({
        "args": [_vscode_arg(a) for a in launch.args],
        "python": "${workspaceFolder}/" + VENV_PYTHON,
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


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path} is not plain JSON ({error}); write_ide_configs merges into it and "
            "cannot keep comments or trailing commas. Remove them, or move the file away "
            "and merge your own entries back afterwards.") from error


def write_vscode(repo_root: Path, port: int = DEFAULT_PORT) -> list[Path]:
    folder = repo_root / ".vscode"
    folder.mkdir(exist_ok=True)
    launch_path = folder / "launch.json"
    existing = _read_json(launch_path)
    own = [c for c in existing.get("configurations", [])
           if c.get("presentation", {}).get("group") != GROUP]
    generated = [_vscode_launch(launch) for launch in launches(repo_root)] + [vscode_attach(port)]
    ours = {key for key, _ in PROMPTS.values()}
    inputs = vscode_inputs() + [i for i in existing.get("inputs", []) if i.get("id") not in ours]
    launch_path.write_text(json.dumps(
        {"version": "0.2.0", "configurations": generated + own, "inputs": inputs},
        indent=4) + "\n")

    settings_path = folder / "settings.json"
    settings = _read_json(settings_path)
    settings.update({
        "python.defaultInterpreterPath": f"${{workspaceFolder}}/{VENV_PYTHON}",
        "python.testing.pytestEnabled": True,
        "python.testing.unittestEnabled": False,
        "python.testing.pytestArgs": ["tests", "-q"],
    })
    settings_path.write_text(json.dumps(settings, indent=4) + "\n")
    return [launch_path, settings_path]


def pycharm_file_name(launch: Launch) -> str:
    return PYCHARM_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", launch.name).strip("_") + ".xml"


def _pycharm_xml(launch: Launch) -> str:
    target = launch.module or "$PROJECT_DIR$/" + launch.script
    options = {
        "INTERPRETER_OPTIONS": "",
        "PARENT_ENVS": "true",
        "SDK_HOME": "$PROJECT_DIR$/" + VENV_PYTHON,
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
    folder = repo_root / ".idea" / "runConfigurations"
    folder.mkdir(parents=True, exist_ok=True)
    server = folder / f"{PYCHARM_PREFIX}remote_actor_debug_server.xml"
    server.write_text(_pycharm_debug_server_xml(port))
    written = [server]
    for launch in launches(repo_root):
        path = folder / pycharm_file_name(launch)
        path.write_text(_pycharm_xml(launch))
        written.append(path)
    for stale in set(folder.glob(PYCHARM_PREFIX + "*.xml")) - set(written):
        stale.unlink()
    return written


def write_ide_configs(repo_root: str | Path, port: int = DEFAULT_PORT) -> list[Path]:
    """(Re)write the VS Code and PyCharm configurations of the repository at ``repo_root``.

    :param repo_root: the repository (the folder holding ``recipes/``).
    :param port: ``attach_remote``'s port: of the VS Code attach configuration and of
        PyCharm's Python Debug Server.
    :returns: the files written.
    :raises FileNotFoundError: if ``repo_root`` has no ``recipes/`` folder.
    """
    root = Path(repo_root).resolve()
    if not (root / "recipes").is_dir():
        raise FileNotFoundError(
            f"write_ide_configs: {root} has no recipes/ folder; pass the rldebug repository "
            "root (the folder with recipes/, rldebug/ and tests/).")
    return write_vscode(root, port) + write_pycharm(root, port)

