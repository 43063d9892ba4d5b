"""``rldebug parity`` and ``rldebug export``."""

from __future__ import annotations

from rldebug.deployment.comparison import DEFAULT_ATOL, DEFAULT_MIN_AGREEMENT
from rldebug.usage import add_import_option, json_text


def cmd_parity(args) -> int:
    """Compare a deployed policy with the checkpoint's training pipeline: exit 0 when they
    agree, 1 when not."""
    from dataclasses import asdict
    from pathlib import Path

    from rldebug.deployment.comparison import parity
    from rldebug.inspection.checkpoint import checkpoint_kind
    from rldebug.usage import load_function

    if not Path(args.checkpoint).expanduser().exists():
        checkpoint_kind(args.checkpoint)  # refused before --policy's file runs (it may load)
    policy = load_function(args.policy, "--policy", "your deployed policy: a function (or "
                           "callable object) from the env's raw observation to its action, "
                           "def {name}(obs): return action")
    _reset_from_its_file(policy, args.policy)
    report = parity(args.checkpoint, policy,
                    episodes=args.episodes, min_agreement=args.min_agreement,
                    atol=args.atol, observations=args.observations, trace=args.trace)
    if args.json:
        print(json_text({**asdict(report), "passed": report.passed}, indent=1))
    else:
        print(report)
    return 0 if report.passed else 1


def _reset_from_its_file(policy, spec: str) -> None:
    """A ``reset()`` defined beside the policy function in its file (a policy with no
    ``reset`` of its own) is the one parity calls when an episode starts: said on stderr.
    """
    import inspect
    import sys

    if callable(getattr(policy, "reset", None)):
        return
    # the file's globals: a function's own (under its decorators), or its class's __call__'s
    function = policy if inspect.isfunction(policy) or hasattr(policy, "__wrapped__") \
        else type(policy).__call__
    scope = getattr(inspect.unwrap(function), "__globals__", None) or {}
    beside = scope.get("reset")
    if not callable(beside) or beside is policy:
        return
    try:
        inspect.signature(beside).bind()
    except (TypeError, ValueError):
        return  # a reset() that needs arguments is not an episode's reset
    try:
        policy.reset = beside
    except (AttributeError, TypeError):
        return
    print(f"rldebug parity: calling reset() from {spec.rsplit(':', 1)[0]} when an episode "
          f"starts ({spec.rsplit(':', 1)[1]} has no reset of its own).", file=sys.stderr)


def cmd_export(args) -> int:
    """Write the checkpoint's inference pipeline to a folder."""
    from rldebug.deployment.exporting import export
    from rldebug.deployment.pipeline import InferencePolicy

    out = export(args.checkpoint, args.out, onnx=args.onnx, overwrite=args.overwrite)
    policy = InferencePolicy.from_checkpoint(out)
    print(f"Wrote {out}: {policy!r}.")
    print(f"  load it: rldebug.inference_policy({str(out)!r})  (no Algorithm, no Ray started)")
    if args.onnx:
        print(f"  or without rldebug or Ray: from onnx_policy import OnnxPolicy  "
              f"(in {out}; needs onnxruntime and numpy)")
    return 0


def add_commands(subparsers) -> None:
    """Register ``parity`` and ``export`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser(
        "parity", help="check a deployed policy against the checkpoint's training pipeline",
        description="Play episodes with the checkpoint's training pipeline (env-to-module "
                    "connectors with their saved state, the RLModule, the module-to-env "
                    "connectors, explore=False as RLlib's evaluation runs it), ask your "
                    "deployed policy at every state, and compare; on a mismatch, name the "
                    "part of the pipeline your deployment leaves out. Exit 0 when they "
                    "agree, 1 when not, 2 for unusable input.")
    parser.add_argument("checkpoint", help="an RLlib 2.60 checkpoint (new API stack) or a "
                                           "folder written by `rldebug export`")
    parser.add_argument("--policy", required=True,
                        help="FILE.py:FUNC or MODULE:FUNC: your deployed policy, raw env "
                             "observation in, env action out (a dict per agent for a "
                             "multi-agent env); FUNC.reset(), or else a reset() defined in "
                             "the same file, is called when an episode starts")
    parser.add_argument("--episodes", type=int,
                        help="episodes of the checkpoint's env to play (default 5)")
    parser.add_argument("--trace", metavar="DIR",
                        help="compare on the episodes a reproducible trace taped in training "
                             "(rldebug.trace(config, reproducible=True)), played again")
    parser.add_argument("--observations", metavar="FILE",
                        help="compare on observations recorded elsewhere instead of playing "
                             "the env: a .npy array, or a .npz with 'obs' and optionally "
                             "'episode_starts' (one agent)")
    parser.add_argument("--min-agreement", type=float, default=DEFAULT_MIN_AGREEMENT,
                        help=f"share of states that must agree (default {DEFAULT_MIN_AGREEMENT})")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL,
                        help="how far a continuous (Box) action may be from the pipeline's "
                             f"and still agree (default {DEFAULT_ATOL}; a float16 or "
                             "quantised deployment needs more)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_import_option(parser)
    parser.set_defaults(func=cmd_parity)

    parser = subparsers.add_parser(
        "export", help="write a checkpoint's inference pipeline to a standalone folder",
        description="Write the checkpoint's inference pipeline (env-to-module connectors "
                    "with their saved state, the RLModule(s), the module-to-env connectors) "
                    "to OUT; rldebug.inference_policy(OUT) loads it without an Algorithm or "
                    "Ray. --onnx also writes the greedy pipeline as one ONNX graph with a "
                    "runner that needs only onnxruntime and numpy.")
    parser.add_argument("checkpoint", help="an RLlib 2.60 checkpoint (new API stack)")
    parser.add_argument("out", help="the folder to write (new or empty)")
    parser.add_argument("--onnx", action="store_true",
                        help="also write policy.onnx and onnx_policy.py (single-agent "
                             "pipelines without frame stacking or recurrent state)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the contents of OUT if it is not empty")
    add_import_option(parser)
    parser.set_defaults(func=cmd_export)


__all__ = ["add_commands", "cmd_export", "cmd_parity"]
