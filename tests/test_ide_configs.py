"""The VS Code and PyCharm run configurations cover every recipe and point at real files."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rldebug.cli import main as cli_main
from rldebug.ide import write_ide_configs
from rldebug.ide.configs import launches
from rldebug.ide.remote import DEFAULT_PORT

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").glob("*.py"))


def vscode_configs(root=ROOT):
    return json.loads((root / ".vscode" / "launch.json").read_text())["configurations"]


def pycharm_options(root=ROOT, kind="PythonConfigurationType"):
    """Per file, the options of PyCharm's run configurations of ``kind``."""
    configs = {}
    for path in sorted((root / ".idea" / "runConfigurations").glob("*.xml")):
        config = ET.parse(path).getroot().find("configuration")
        if config.get("type") == kind:
            configs[path.name] = {o.get("name"): o.get("value") for o in config.iter("option")}
    return configs


def vscode_target(config, root=ROOT):
    return Path(config["program"].replace("${workspaceFolder}", str(root)))


def test_every_recipe_has_a_vscode_launch_configuration():
    programs = {vscode_target(c) for c in vscode_configs() if "program" in c}
    missing = [r.name for r in RECIPES if r not in programs]
    assert not missing, (f"recipes without a VS Code configuration: {missing}; run "
                         "write_ide_configs('.') and commit .vscode/launch.json")


def test_every_recipe_has_a_pycharm_run_configuration():
    scripts = {Path(o["SCRIPT_NAME"].replace("$PROJECT_DIR$", str(ROOT)))
               for o in pycharm_options().values() if o["MODULE_MODE"] == "false"}
    missing = [r.name for r in RECIPES if r not in scripts]
    assert not missing, (f"recipes without a PyCharm configuration: {missing}; run "
                         "write_ide_configs('.') and commit .idea/runConfigurations/")


def test_every_configuration_points_at_something_that_exists():
    for config in vscode_configs():
        if config["request"] == "launch":
            assert config["justMyCode"] is False
            if "program" in config:
                assert vscode_target(config).is_file(), config["name"]
            else:
                assert importlib.util.find_spec(config["module"]), config["name"]
    for name, options in pycharm_options().items():
        target = options["SCRIPT_NAME"]
        if options["MODULE_MODE"] == "true":
            assert importlib.util.find_spec(target), name
        else:
            assert Path(target.replace("$PROJECT_DIR$", str(ROOT))).is_file(), name


def test_demo_and_attach_configurations():
    by_request = {}
    for config in vscode_configs():
        by_request.setdefault(config["request"], []).append(config)
    assert any(c.get("module") == "rldebug.cli" and c["args"] == ["demo"]
               for c in by_request["launch"])
    debug = [c for c in by_request["launch"] if c["name"] == "rldebug: debug current file"]
    assert [(c["module"], c["args"]) for c in debug] == [("rldebug", ["debug", "${file}"])]
    pycharm = pycharm_options()["rldebug_rldebug_debug_current_file.xml"]
    assert (pycharm["SCRIPT_NAME"], pycharm["PARAMETERS"]) == ("rldebug", "debug $FilePath$")
    (attach,) = by_request["attach"]
    assert attach["connect"] == {"host": "127.0.0.1", "port": DEFAULT_PORT}
    # PyCharm's side of attach_remote(client="pycharm"): a Python Debug Server, same port
    (server,) = pycharm_options(kind="PyRemoteDebugConfigurationType").values()
    assert server["PORT"] == str(DEFAULT_PORT) and server["HOST"] == "127.0.0.1"
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text())
    assert settings["python.testing.pytestEnabled"] is True
    assert settings["python.defaultInterpreterPath"].endswith(".venv/bin/python")


def test_committed_files_match_the_generator():
    expected = {launch.name for launch in launches(ROOT)}
    generated = {c["name"] for c in vscode_configs() if c["request"] == "launch"}
    assert generated == expected, "run write_ide_configs('.') and commit the result"
    assert len(pycharm_options()) == len([x for x in launches(ROOT) if x.in_pycharm])


def test_regenerating_keeps_user_configs_and_drops_removed_recipes(tmp_path):
    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    write_ide_configs(tmp_path)
    launch_json = tmp_path / ".vscode" / "launch.json"
    data = json.loads(launch_json.read_text())
    data["configurations"].append({"name": "mine", "type": "debugpy", "request": "launch"})
    launch_json.write_text(json.dumps(data))
    removed = RECIPES[0]
    (tmp_path / "recipes" / removed.name).unlink()

    write_ide_configs(tmp_path)

    names = [c["name"] for c in vscode_configs(tmp_path)]
    assert "mine" in names
    assert not any(removed.stem in n for n in names)
    assert not any(removed.stem in o["SCRIPT_NAME"] for o in pycharm_options(tmp_path).values())


def test_a_users_project_gets_its_configurations_and_keeps_its_settings(tmp_path, capsys):
    """A user's project (no recipes/, VS Code's own launch.json with comments, settings of
    its own): it was refused ('has no recipes/ folder'), then comments were refused, and
    the interpreter and pytest settings were overwritten."""
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "launch.json").write_text(
        '{\n  // Use IntelliSense to learn about possible attributes.\n  "version": "0.2.0",\n'
        '  "configurations": [\n    {"name": "mine", "type": "debugpy", "request": "launch",'
        ' "program": "${file}", "args": ["--url", "http://x//y"]},\n  ]\n}\n')
    (tmp_path / ".vscode" / "settings.json").write_text(
        '{"python.defaultInterpreterPath": "/opt/py/bin/python", /* mine */\n'
        ' "editor.rulers": [100]}')
    assert cli_main(["ide-configs", "--root", str(tmp_path), "--port", "5730"]) == 0
    written = capsys.readouterr().out
    configs = vscode_configs(tmp_path)
    names = [c["name"] for c in configs]
    assert "mine" in names and "rldebug: debug current file" in names
    assert not any(n.startswith("recipe:") for n in names)
    mine = next(c for c in configs if c["name"] == "mine")
    assert mine["args"] == ["--url", "http://x//y"]  # a // inside a string is no comment
    (attach,) = [c for c in configs if c["request"] == "attach"]
    assert attach["connect"]["port"] == 5730
    (server,) = pycharm_options(tmp_path, kind="PyRemoteDebugConfigurationType").values()
    assert server["PORT"] == "5730"
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text())
    assert settings["python.defaultInterpreterPath"] == "/opt/py/bin/python"
    assert settings["editor.rulers"] == [100] and "python.testing.pytestArgs" not in settings
    debug = next(c for c in configs if c["name"] == "rldebug: debug current file")
    assert debug["python"] == sys.executable  # the project has no .venv of its own
    # what the rewrite drops (the comments) is kept as it was, and said
    backup = tmp_path / ".vscode" / "launch.json.before-rldebug"
    assert "IntelliSense" in backup.read_text() and str(backup) in written
    assert cli_main(["ide-configs", "--root", str(tmp_path / "nope")]) == 2


def test_an_actor_on_another_node_says_how_to_forward_its_port():
    from rldebug.ide._listen import Endpoint, forwarding_hint

    def hint(here, driver_host="driver-box", **endpoint):
        return forwarding_hint(Endpoint(driver_host=driver_host, **endpoint), here=here,
                               node_ip="10.0.0.7")

    assert hint("driver-box", port=5678) == ""
    assert hint("worker-7", driver_host="", port=5678) == ""  # unknown driver: no guess
    vscode = hint("worker-7", port=5679)  # VS Code connects to the actor's listener
    assert "`ssh -N -L 5679:127.0.0.1:5679 worker-7`" in vscode and "'driver-box'" in vscode
    assert "node 'worker-7' (10.0.0.7)" in vscode
    pycharm = hint("worker-7", port=5679, client="pycharm")  # the actor connects to PyCharm
    assert "`ssh -N -R 5679:127.0.0.1:5679 worker-7`" in pycharm and "ide_host" in pycharm


def test_a_rerun_keeps_the_users_copies_other_keys_and_earlier_backups(tmp_path, capsys):
    """An audit's project: a re-run deleted the user's copy of a generated configuration
    (the only way to give a script its arguments), its PyCharm copy named rldebug_*.xml,
    launch.json's "compounds", and wrote over the first comment backup."""
    write_ide_configs(tmp_path)
    launch_json = tmp_path / ".vscode" / "launch.json"
    data = json.loads(launch_json.read_text())
    debug = next(c for c in data["configurations"] if c["name"] == "rldebug: debug current file")
    data["configurations"].append({**debug, "name": "rldebug: debug train.py --iters 2",
                                   "args": ["debug", "train.py", "--iters", "2"]})
    data["compounds"] = [{"name": "both", "configurations": ["mine", "theirs"]}]
    launch_json.write_text("// mine\n" + json.dumps(data))
    runs = tmp_path / ".idea" / "runConfigurations"
    copy = runs / "rldebug__my_train.xml"  # PyCharm names a shared copy after its name
    copy.write_text((runs / "rldebug_rldebug_debug_current_file.xml").read_text())

    write_ide_configs(tmp_path)
    launch_json.write_text("// mine again\n" + launch_json.read_text())
    write_ide_configs(tmp_path)

    data = json.loads(launch_json.read_text())
    assert "rldebug: debug train.py --iters 2" in [c["name"] for c in data["configurations"]]
    assert [c["name"] for c in data["configurations"]].count("rldebug: debug current file") == 1
    assert data["compounds"] == [{"name": "both", "configurations": ["mine", "theirs"]}]
    assert copy.is_file()
    assert "// mine\n" in (tmp_path / ".vscode" / "launch.json.before-rldebug").read_text()
    assert "// mine again" in (tmp_path / ".vscode" / "launch.json.before-rldebug.2").read_text()


def test_the_interpreter_is_a_project_venv_that_has_rldebug(tmp_path, capsys):
    """A bare .venv (no rldebug) was chosen, and every launch failed with "No module named
    rldebug"; a venv named venv/ was not looked at."""
    import venv

    venv.create(tmp_path / ".venv", with_pip=False)  # bare: no rldebug
    assert cli_main(["ide-configs", "--root", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "has no rldebug installed" in err
    debug = next(c for c in vscode_configs(tmp_path) if c["name"] == "rldebug: debug current file")
    assert debug["python"] == os.path.normpath(sys.executable)
    venv.create(tmp_path / "venv", with_pip=False)  # a venv/ that sees this one's packages
    import site
    import sysconfig

    purelib = sysconfig.get_path("purelib", vars={"base": str(tmp_path / "venv")})
    Path(purelib, "rldebug_here.pth").write_text(  # (addsitedir: its .pth files too)
        "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages()))
    write_ide_configs(tmp_path)
    debug = next(c for c in vscode_configs(tmp_path) if c["name"] == "rldebug: debug current file")
    assert debug["python"] == "${workspaceFolder}/venv/bin/python"


def test_a_subfolder_of_a_project_is_told_where_the_ide_reads(tmp_path, capsys):
    (tmp_path / ".git").mkdir()
    (tmp_path / "scripts").mkdir()
    assert cli_main(["ide-configs", "--root", str(tmp_path / "scripts")]) == 0
    assert f"--root {tmp_path}`" in capsys.readouterr().err


def _read_only(folder: Path) -> bool:
    """Make ``folder`` unwritable, for root too (chattr +i) where the filesystem allows."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return True
    return subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                          check=False).returncode == 0


def test_a_read_only_idea_folder_is_refused_before_anything_is_written(tmp_path, capsys):
    """It wrote .vscode/launch.json, then failed on .idea with an OSError (exit 1)."""
    (tmp_path / ".idea").mkdir()
    if not _read_only(tmp_path / ".idea"):
        pytest.skip("this filesystem cannot make a folder read-only for root")
    try:
        assert cli_main(["ide-configs", "--root", str(tmp_path)]) == 2
        assert "cannot write in" in capsys.readouterr().err
        assert not (tmp_path / ".vscode").exists()
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path / ".idea")], capture_output=True,
                       check=False)
        (tmp_path / ".idea").chmod(0o700)


def test_debug_current_file_with_arguments_gives_the_script_its_words(tmp_path):
    """"debug current file" took no arguments: a user's argparse script (RLlib's own
    examples all are) needed a hand-made copy. VS Code's new configuration asks for them;
    run here as VS Code runs it: a string "args" handed to the terminal's shell with
    ${file} and ${command:pickArgs} filled in. PyCharm gets none: it escapes a macro's
    value ($Prompt$) into one parameter, so the words would reach the script as one."""
    import shlex

    write_ide_configs(tmp_path)
    folder = tmp_path / "my scripts"  # a space in the path, as on many users' machines
    folder.mkdir()
    script = folder / "train.py"
    script.write_text("import json, sys\nprint('ARGV', json.dumps(sys.argv))\n")
    vscode = next(c for c in vscode_configs(tmp_path)
                  if c["name"] == "rldebug: debug current file with arguments")
    args = vscode["args"].replace("${file}", str(script)).replace(
        "${command:pickArgs}", '--iters 2 --name "two words"')
    done = subprocess.run(f"{shlex.quote(sys.executable)} -m {vscode['module']} {args}",
                          shell=True, capture_output=True, check=False, text=True,
                          timeout=120, cwd=tmp_path)
    line = next((x for x in done.stdout.splitlines() if x.startswith("ARGV ")), None)
    assert done.returncode == 0 and line, done.stderr[-2000:]
    assert json.loads(line[5:]) == [str(script), "--iters", "2", "--name", "two words"]
    assert not any("with_arguments" in name for name in pycharm_options(tmp_path))
