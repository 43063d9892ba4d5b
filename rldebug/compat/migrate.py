"""``rldebug migrate PATH``: list every 2021-era RLlib name in code, with its 2.60 replacement.

The code is parsed (``ast``), never executed. Each :class:`Migration` names the
line, what was found, what RLlib 2.60 uses instead, and the rldebug helper that
covers it. The table is README's migration guide, in code: :data:`NAMES` (imports
and attribute names), :data:`CONFIG_KEYS` (config dict keys and keyword
arguments), :data:`RESULT_KEYS` (result dict keys read as strings), plus a few
patterns that need the tree: ``ray.init(local_mode=True)``, ``tune.run(...)``,
``import gym``, a 4-tuple unpacked from ``env.step`` or returned by ``step``, and a
``reset`` without ``seed``.

    rldebug migrate my_script.py         # or a directory (every .py below it)
    rldebug migrate src/ --json

Exit code 1 when something needs migrating, 0 when nothing does, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from rldebug.usage import UsageError, UsageTypeError


@dataclass(frozen=True)
class Migration:
    """One 2021-era use found in code.

    :param path: the file. :param line: 1-based line. :param column: 0-based column.
    :param found: what the code says. :param replacement: what RLlib 2.60 uses.
    :param helper: the rldebug function, recipe or doc that covers it ("" if none).
    """

    path: str
    line: int
    column: int
    found: str
    replacement: str
    helper: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# a module under 2021's ray.rllib.agents -> where RLlib 2.60 has it (the algorithms of
# ray/rllib/algorithms/); a module not listed has no 2.60 counterpart
AGENTS_MODULES: dict[str, str] = {
    **{name: f"ray.rllib.algorithms.{name}"
       for name in ("ppo", "appo", "dqn", "sac", "impala", "marwil", "bc", "cql")},
    "callbacks": "ray.rllib.callbacks.callbacks (RLlibCallback)",
    "trainer": "ray.rllib.algorithms.algorithm (Algorithm)",
    "trainer_config": "ray.rllib.algorithms.algorithm_config (AlgorithmConfig)",
}

# name (an import, a class, a method or attribute) -> (replacement, rldebug helper)
NAMES: dict[str, tuple[str, str]] = {
    "ray.rllib.agents": ("ray.rllib.algorithms (e.g. ray.rllib.algorithms.ppo)", ""),
    "PPOTrainer": ("PPO, built with PPOConfig().build_algo()", "rldebug.arena_ppo_config"),
    "DQNTrainer": ("DQN, built with DQNConfig().build_algo()", ""),
    "SACTrainer": ("SAC, built with SACConfig().build_algo()", ""),
    "APPOTrainer": ("APPO, built with APPOConfig().build_algo()", ""),
    "ImpalaTrainer": ("IMPALA, built with IMPALAConfig().build_algo()", ""),
    "Trainer": ("Algorithm", ""),
    "DEFAULT_CONFIG": ("PPOConfig() (or the algorithm's config class) and its methods",
                       "recipes/default_config.py"),
    "COMMON_CONFIG": ("AlgorithmConfig()", ""),
    "WorkerSet": ("EnvRunnerGroup (algo.env_runner_group)", "rldebug.trace"),
    "RolloutWorker": ("EnvRunner (SingleAgentEnvRunner, MultiAgentEnvRunner)", "rldebug.trace"),
    "DefaultCallbacks": ("RLlibCallback (keyword-only hooks)", "rldebug.callbacks.add_callbacks"),
    "compute_single_action": (("module.forward_inference(batch) after the env-to-module "
                               "connectors"), "rldebug.explain"),
    "compute_action": ("module.forward_inference(batch) after the env-to-module connectors",
                       "rldebug.explain"),
    "value_function": ("module.compute_values(batch) on the Learner's module",
                       "rldebug.explain (Explanation.value)"),
    "learn_on_batch": ("Learner.update (compute_loss_for_module per minibatch)",
                       "rldebug.trace"),
    "prev_reward_for": ("episode.get_rewards(-1) (agent_episodes[aid] in multi-agent)",
                        "rldebug.arena.ArenaEvents (counts from infos)"),
    "last_info_for": ("episode.get_infos(-1)", "rldebug.callbacks.InfoEvents"),
    "user_data": ("episode.custom_data", "rldebug.callbacks.AgentReturns"),
    "custom_metrics": ("metrics_logger.log_value(...)", "rldebug.callbacks.AgentReturns"),
    "hist_data": ("metrics_logger.log_value(..., reduce=None)", "rldebug.callbacks.AgentReturns"),
    "ModelV2": ("RLModule (RLModuleSpec, DefaultModelConfig)", "rldebug.inspect"),
    "TFModelV2": ("a torch RLModule (the new stack is torch only)", "recipes/custom_model.py"),
    "TorchModelV2": ("TorchRLModule", "recipes/custom_model.py"),
    "ModelCatalog": (("an RLModule class given as config.rl_module(rl_module_spec="
                      "RLModuleSpec(module_class=...)); no registry"), "recipes/custom_model.py"),
    "get_policy": ("algo.get_module(module_id) (the RLModule; the new stack has no Policy)",
                   "rldebug.inspect"),
}

# config dict key / keyword argument -> (replacement, helper)
CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "num_workers": ("num_env_runners (config.env_runners(...))", "recipes/scaling.py"),
    "num_envs_per_worker": ("num_envs_per_env_runner (config.env_runners(...))", ""),
    "sgd_minibatch_size": ("minibatch_size (config.training(...))", ""),
    "num_sgd_iter": ("num_epochs (config.training(...))", ""),
    "multiagent": ("config.multi_agent(policies=..., policy_mapping_fn=...)", ""),
    "custom_model": ("an RLModule: config.rl_module(rl_module_spec=RLModuleSpec(...))",
                     "recipes/custom_model.py"),
    "custom_model_config": ("RLModuleSpec(model_config=...)", "recipes/custom_model.py"),
    "evaluation_num_workers": ("evaluation_num_env_runners", ""),
    "num_rollout_workers": ("num_env_runners (config.env_runners(...))", "recipes/scaling.py"),
    "soft_horizon": ("nothing: RLlib 2.60 keeps the key and never reads it", ""),
    "no_done_at_end": (("nothing: RLlib 2.60 keeps the key and never reads it; return "
                        "truncated=True (not terminated) when a time limit ends an "
                        "episode, and RLlib bootstraps its value"), "rldebug.check_env"),
    "lr_schedule": (("lr=[[0, lr_start], [timesteps, lr_end]] (the new stack takes the "
                     "schedule as lr itself and refuses lr_schedule)"), "rldebug check"),
    "entropy_coeff_schedule": (("entropy_coeff=[[0, start], [timesteps, end]] (the new "
                                "stack refuses entropy_coeff_schedule)"), "rldebug check"),
    "observation_filter": (("config.env_runners(env_to_module_connector=lambda env, "
                            "spaces=None, device=None: MeanStdFilter()) with MeanStdFilter "
                            "from ray.rllib.connectors.env_to_module (the new stack ignores "
                            "observation_filter)"), ""),
    "exploration_config": (("nothing on the new API stack, which refuses it: DQN explores by "
                            "config.training(epsilon=[[0, 1.0], [10000, 0.05]]), other "
                            "algorithms by sampling their action distribution, and custom "
                            "exploration goes in the RLModule's _forward_exploration"),
                           "rldebug.explain"),
}

# keys that are common words (an env's own "horizon", a "model" name): named only in a
# dict that is an RLlib config (it holds another key below, or a 2021 one), "model" only
# with a dict value; ``training(model=...)`` is right on the old stack, and `rldebug
# check` names it on the new one
CONFIG_DICT_KEYS: dict[str, tuple[str, str]] = {
    "horizon": (("nothing: RLlib 2.60 keeps the key and never reads it; cap episodes "
                 "with gymnasium's TimeLimit (gym.make(id, max_episode_steps=N)) or by "
                 "returning truncated=True from step()"), "rldebug.check_env"),
    "model": (('config.rl_module(model_config={...}) (DefaultModelConfig names the keys; '
               'the new API stack ignores "model")'), "rldebug check"),
}
CONFIG_DICT_MARKERS = frozenset({"env", "env_config", "framework", "num_gpus", "lr", "gamma",
                                 "train_batch_size", "callbacks", "batch_mode"})

# values of ``framework`` that name TensorFlow; the new API stack is torch only
TF_FRAMEWORKS = ("tf", "tf2", "tfe")
TF_REPLACEMENT = ('"torch" (RLlib 2.60\'s new API stack has torch RLModules only; TensorFlow '
                  'needs the old API stack and tensorflow installed)')

# result key read as a string -> (replacement, helper)
RESULT_KEYS: dict[str, tuple[str, str]] = {
    "episode_reward_mean": ("env_runners/episode_return_mean", "rldebug.shapes.results"),
    "episode_reward_max": ("env_runners/episode_return_max", "rldebug.shapes.results"),
    "episode_reward_min": ("env_runners/episode_return_min", "rldebug.shapes.results"),
    "policy_reward_mean": (("env_runners/module_episode_returns_mean/<module> "
                            "(agent_episode_returns_mean/<agent>)"),
                           "rldebug.callbacks.AgentReturns"),
    "episodes_total": ("env_runners/num_episodes_lifetime", ""),
    "timesteps_total": ("num_env_steps_sampled_lifetime", "rldebug.shapes.results"),
    "learner_stats": ("learners/<module>/... (mean_kl_loss, vf_loss_unclipped, ...)",
                      "rldebug doctor"),
    "custom_metrics": (("env_runners/<key> of what a callback logs with metrics_logger."
                        "log_value (the new stack has no custom_metrics)"),
                       "rldebug.callbacks.InfoEvents"),
    "hist_stats": (("env_runners/<key> of what a callback logs with metrics_logger."
                    "log_value(..., reduce=None) (the new stack has no hist_stats)"),
                   "rldebug.callbacks.AgentReturns"),
}

# result keys named only where they are read as one (``results["evaluation"]``): as plain
# strings they are common words
SUBSCRIPT_RESULT_KEYS: dict[str, tuple[str, str]] = {
    "evaluation": (("algo.evaluate()'s result itself: "
                    "['env_runners']['episode_return_mean'] (train() results: "
                    "['evaluation']['env_runners']['episode_return_mean'])"), ""),
}


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, "" otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _agent_ids_after_super(cls: ast.ClassDef) -> list[ast.Assign]:
    """``self._agent_ids = ...`` in ``__init__`` after its ``super().__init__()`` call:
    MultiAgentEnv.__init__ had found no agents then (set before, it reads them)."""
    found = []
    for init in (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"):
        supers = [n.lineno for n in ast.walk(init) if isinstance(n, ast.Call)
                  and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__"
                  and (isinstance(n.func.value, ast.Call)  # super().__init__()
                       and _dotted(n.func.value.func) == "super"
                       or _dotted(n.func.value).endswith("MultiAgentEnv"))]
        found += [n for n in ast.walk(init) if isinstance(n, ast.Assign) and supers
                  and n.lineno > min(supers)
                  and any(_dotted(t) == "self._agent_ids" for t in n.targets)]
    return found


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path = path
        self.found: list[Migration] = []
        self._seen: set[tuple[int, int, str]] = set()

    def add(self, node: ast.AST, found: str, replacement: str, helper: str = "") -> None:
        key = (node.lineno, node.col_offset, replacement)  # a string seen by two visitors
        if key not in self._seen:
            self._seen.add(key)
            self.found.append(Migration(self.path, node.lineno, node.col_offset, found,
                                        replacement, helper))

    # imports -----------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._module(node, node.module or "")
        for alias in node.names:
            if alias.name in NAMES:
                self.add(node, alias.name, *NAMES[alias.name])
        self.generic_visit(node)

    def _module(self, node: ast.AST, module: str) -> None:
        if module == "gym" or module.startswith("gym."):
            self.add(node, f"import {module}",
                     "gymnasium (reset(seed=) -> (obs, infos); step -> 5-tuple with "
                     "terminated and truncated)", "rldebug.check_env")
        if module == "ray.rllib.agents" or module.startswith("ray.rllib.agents."):
            parts = module.split(".")
            if len(parts) > 3 and parts[3] in AGENTS_MODULES:
                self.add(node, module, AGENTS_MODULES[parts[3]], "")
            elif len(parts) > 3:
                self.add(node, module, f"nothing: RLlib 2.60 has no {parts[3]} (its "
                         "algorithms are in ray.rllib.algorithms)", "")
            else:
                self.add(node, module, *NAMES["ray.rllib.agents"])

    # names, attributes, calls ------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in NAMES and node.id != "Trainer":
            self.add(node, node.id, *NAMES[node.id])
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in NAMES and node.attr not in ("Trainer",):
            self.add(node, f".{node.attr}", *NAMES[node.attr])
        if node.attr == "workers" and isinstance(node.value, ast.Name) and \
                "trainer" in node.value.id.lower():
            self.add(node, f"{node.value.id}.workers", *NAMES["WorkerSet"])
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name in ("ray.init", "init"):
            for keyword in node.keywords:
                if keyword.arg == "local_mode" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    self.add(node, "ray.init(local_mode=True)",
                             "removed in RLlib 2.60 (raises RuntimeError)",
                             "rldebug.local_mode(config) + rldebug.run, or rldebug debug")
        if name in ("tune.run", "ray.tune.run"):
            self.add(node, "tune.run(...)", "tune.Tuner(PPO, param_space=config, run_config="
                     "tune.RunConfig(stop=...)).fit()", "recipes/tune_grid.py")
            for keyword in node.keywords:
                if keyword.arg == "local_dir":
                    self.add(keyword.value, "local_dir=", "storage_path= (Ray 2.60 refuses "
                             "local_dir)", "")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "save" and \
                "trainer" in _dotted(node.func.value).lower():
            self.add(node, f"{_dotted(node.func)}()", "algo.save() returns a training result "
                     "whose .checkpoint.path is the folder (2021 returned the path)", "")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "rollouts":
            self.add(node, ".rollouts(...)", ".env_runners(...) (2.60 raises \"rollouts has "
                     "been deprecated\")", "")
        for keyword in node.keywords:
            if keyword.arg in CONFIG_KEYS:
                self.add(keyword.value, f"{keyword.arg}=", *CONFIG_KEYS[keyword.arg])
            if keyword.arg == "framework":
                self._framework(keyword.value, "framework={}")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "framework" and node.args:
            self._framework(node.args[0], ".framework({})")
        self.generic_visit(node)

    def _framework(self, value: ast.AST, shape: str) -> None:
        """``framework="tf"`` in a keyword, a ``.framework()`` call or a dict."""
        if isinstance(value, ast.Constant) and value.value in TF_FRAMEWORKS:
            self.add(value, shape.format(repr(value.value)), TF_REPLACEMENT, "")

    # strings: config keys and result keys ----------------------------------------------
    def visit_Dict(self, node: ast.Dict) -> None:
        for key in node.keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                    key.value in CONFIG_KEYS:
                self.add(key, f'"{key.value}"', *CONFIG_KEYS[key.value])
        names = {key.value for key in node.keys if isinstance(key, ast.Constant)}
        is_config = bool(names & (CONFIG_DICT_MARKERS | set(CONFIG_KEYS)))
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and key.value == "framework":
                self._framework(value, '"framework": {}')
            if is_config and isinstance(key, ast.Constant) and key.value == "horizon":
                self.add(key, '"horizon"', *CONFIG_DICT_KEYS["horizon"])
            if is_config and isinstance(key, ast.Constant) and key.value == "model" and \
                    isinstance(value, ast.Dict):
                self.add(key, '"model": {...}', *CONFIG_DICT_KEYS["model"])
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            known = {**RESULT_KEYS, **SUBSCRIPT_RESULT_KEYS}
            if key.value in known:
                self.add(key, f'["{key.value}"]', *known[key.value])
            elif key.value in CONFIG_KEYS:
                self.add(key, f'["{key.value}"]', *CONFIG_KEYS[key.value])
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # result keys in stop dicts and .get("...") calls
        if isinstance(node.value, str) and node.value in RESULT_KEYS:
            self.add(node, f'"{node.value}"', *RESULT_KEYS[node.value])

    # the gym API -------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0] if len(node.targets) == 1 else None
        if isinstance(target, ast.Tuple) and len(target.elts) == 4 and \
                isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
                and node.value.func.attr == "step":
            self.add(node, "obs, reward, done, info = env.step(...)",
                     "obs, reward, terminated, truncated, info = env.step(...)",
                     "rldebug.check_env")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(_dotted(base).endswith("MultiAgentEnv") for base in node.bases):
            for child in ast.walk(node):
                if isinstance(child, ast.Assign) and any(
                        _dotted(target) in ("self.observation_space", "self.action_space")
                        for target in child.targets):
                    attribute = _dotted(child.targets[0]).split(".")[-1]
                    self.add(child, f"{attribute} = ... in a MultiAgentEnv",
                             f"per-agent {attribute}s = {{agent_id: space}} (the new stack "
                             "needs them)", "rldebug.check_env")
            for child in _agent_ids_after_super(node):
                self.add(child, "self._agent_ids = ... after super().__init__()",
                         "self.possible_agents = [...] (RLlib 2.60 derives agents from "
                         "_agent_ids only in MultiAgentEnv.__init__)", "rldebug.check_env")
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name == "step":
            for child in ast.walk(node):
                if isinstance(child, ast.Return) and isinstance(child.value, ast.Tuple) and \
                        len(child.value.elts) == 4:
                    self.add(child, "step() returns (obs, reward, done, info)",
                             "return (obs, reward, terminated, truncated, info)",
                             "rldebug.check_env")
        if node.name == "reset":
            names = {a.arg for a in node.args.args + node.args.kwonlyargs}
            if "seed" not in names and node.args.kwarg is None:
                self.add(node, "def reset(self) without seed",
                         "def reset(self, *, seed=None, options=None) -> (obs, infos)",
                         "rldebug.check_env")
        self.generic_visit(node)


def migrations_in_source(source: str, path: str = "<string>") -> list[Migration]:
    """Every 2021-era use in Python ``source``, in line order.

    :raises SyntaxError: if ``source`` is not valid Python (with the line).
    """
    if not isinstance(source, str):
        raise UsageTypeError(f"migrations_in_source expects Python source text, got "
                             f"{type(source).__name__}.")
    finder = _Finder(path)
    finder.visit(ast.parse(source, filename=path))
    return sorted(finder.found, key=lambda m: (m.line, m.column, m.found))


def migrations(path: str | Path) -> tuple[list[Migration], list[str]]:
    """Every 2021-era use in a ``.py`` file or in every ``.py`` file below a directory.

    :returns: the migrations, and notes on files that could not be parsed.
    :raises UsageError: if the path does not exist or holds no ``.py`` file.
    """
    if not isinstance(path, (str, Path)):
        raise UsageTypeError(f"migrations expects a path to a .py file or a directory, got "
                             f"{type(path).__name__}: {path!r:.80}.")
    if not str(path).strip():
        raise UsageError("migrations got an empty path; pass a .py file or a directory of "
                         "them (rldebug migrate . for this one).")
    root = Path(path).expanduser()
    if not root.exists():
        raise UsageError(f"{str(root)!r} does not exist; pass a .py file or a "
                                 "directory of them.")
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    if root.is_file() and root.suffix != ".py":
        raise UsageError(f"{str(root)!r} is not a .py file; pass a Python file or a "
                                 "directory (notebooks: export them with jupyter nbconvert "
                                 "--to script first).")
    if not files:
        raise UsageError(f"{str(root)!r} holds no .py file.")
    found, notes = [], []
    for file in files:
        try:
            found += migrations_in_source(file.read_text(encoding="utf-8"), str(file))
        except (SyntaxError, UnicodeDecodeError, ValueError) as err:
            line = getattr(err, "lineno", None)
            notes.append(f"{file}: not parsed ({type(err).__name__}"
                         f"{f' at line {line}' if line else ''}: {err}); it is left out.")
    if notes and len(notes) == len(files):
        raise UsageError("No file could be parsed: " + " ".join(notes))
    return found, notes


DESCRIPTION = ("List every 2021-era RLlib name in Python code with its RLlib 2.60 "
               "replacement and the rldebug helper that covers it. The code is parsed, never "
               "run. Exit code 1 when something needs migrating, 0 when nothing does, 2 for "
               "unusable input.")


def add_commands(subparsers) -> None:
    """Register ``migrate`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser("migrate", help="list 2021-era RLlib names and their "
                                                  "2.60 replacements", description=DESCRIPTION)
    _add_arguments(parser)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a .py file or a directory of them")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(func=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    found, notes = migrations(args.path)
    if args.json:
        print(json.dumps({"path": args.path, "notes": notes,
                          "migrations": [m.to_dict() for m in found]}, indent=2))
        return 1 if found else 0
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for m in found:
        helper = f"  [rldebug: {m.helper}]" if m.helper else ""
        print(f"{m.path}:{m.line}:{m.column + 1}: {m.found} -> {m.replacement}{helper}")
    print(f"{len(found)} use(s) of 2021-era RLlib names" if found else
          "Nothing to migrate: no 2021-era RLlib names found.")
    return 1 if found else 0

