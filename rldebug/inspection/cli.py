"""``rldebug inspect CHECKPOINT [--agent A] [--module M] [--obs JSON]``.

Registered on the main parser by :func:`add_commands`.
"""

from __future__ import annotations

import json
from pathlib import Path

from rldebug.usage import UsageError, add_import_option, check_seed, json_text

WARNING = ("Loading a checkpoint unpickles code stored in it: only inspect checkpoints "
           "from sources you trust.")


def _parse_obs(text: str):
    """The --obs JSON as Python values (numbers, lists, dicts), given the dtypes of the
    agent's observation space once the checkpoint is loaded."""
    try:
        obs = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"--obs must be JSON, e.g. --obs '[0, 99]' for the arena; "
                         f"got {text!r} ({err}).") from None
    if obs is None:
        raise UsageError(f"--obs {text!r} is no observation; give one as JSON, e.g. "
                         "--obs '[0, 99]' for the arena.")
    return obs


def cmd_inspect(args) -> int:
    """Load the checkpoint, print the summary and, with --obs, the explanation."""
    from rich.console import Console

    from rldebug.inspection import explain, inspect, load
    from rldebug.inspection.checkpoint import algorithm_checkpoint_of, checkpoint_kind
    from rldebug.inspection.explanation import ids_from_text, json_observation

    console = Console()
    obs = _parse_obs(args.obs) if args.obs is not None else None
    if obs is None and (args.agent or args.module):
        raise UsageError("--agent/--module choose whose observation --obs is; pass --obs too.")
    if obs is None and args.seed is not None:
        raise UsageError("--seed seeds the action sampled for --obs; pass --obs too.")
    seed = 0 if args.seed is None else args.seed
    check_seed(seed, "--seed", allow_none=False)  # before the checkpoint loads
    if checkpoint_kind(args.checkpoint) == "module":
        top = algorithm_checkpoint_of(Path(args.checkpoint).resolve())
        raise UsageError(
            f"{args.checkpoint} is an RLModule checkpoint (a module's weights, without the "
            "env, connectors or agent mapping the summary and --obs need): pass the "
            f"algorithm checkpoint{f' it belongs to, {str(top)!r}' if top else ''}; in Python, "
            "rldebug.load(PATH) returns the module itself.")
    algo = load(args.checkpoint)  # a CheckpointError is a UsageError: exit 2
    try:
        summary, explanation = inspect(algo), None
        if obs is not None:
            agent, module = ids_from_text(algo, args.agent, args.module)
            obs = json_observation(algo, obs, agent_id=agent, module_id=module)
            explanation = explain(algo, obs, agent_id=agent, module_id=module, seed=seed)
    finally:
        algo.stop()
    if args.json:  # spaces as their str, arrays as lists (usage.json_text)
        print(json_text({"summary": summary.to_dict(), "explanation":
                         None if explanation is None else explanation.to_dict()}))
        return 0
    console.print(summary)
    if explanation is not None:
        console.print(explanation)
    return 0


def add_commands(subparsers) -> None:
    """Register ``inspect`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser(
        "inspect", help="summarise a checkpoint's modules; explain an observation",
        description="Load an RLlib 2.60 checkpoint in this process, print its modules, "
                    "agent mapping, spaces, layers and learning rates and, with --obs, "
                    "what a policy makes of one raw env observation. " + WARNING,
        epilog=WARNING)
    parser.add_argument("checkpoint", help="checkpoint directory (algo.save_to_path(), "
                                           "algo.save() or rldebug run --checkpoint)")
    parser.add_argument("--agent", help="agent whose observation --obs is (e.g. agent1; a "
                                        "number names an int agent id)")
    parser.add_argument("--module", help="module/policy to ask (e.g. pol1)")
    parser.add_argument("--obs", help="a raw env observation as JSON, e.g. '[0, 99]'")
    parser.add_argument("--seed", type=int, help="with --obs: seed of the sampled action "
                                                 "(default 0)")
    parser.add_argument("--json", action="store_true",
                        help="print the summary (and the explanation) as JSON")
    add_import_option(parser)
    parser.set_defaults(func=cmd_inspect)


__all__ = ["add_commands", "cmd_inspect"]
