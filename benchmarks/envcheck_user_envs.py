"""``rldebug.check_env`` on a new user's envs: each bug against the check that owns it.

``benchmarks/envcheck_user_envs/`` holds 32 envs an independent user wrote (2026-12-07;
told only how to call ``check_env``, never its code, docs or tests): ``envs.py`` as the
user wrote it, and ``labels.json``, written before the checker ran: for every env whether
it has a bug, which, and what RLlib 2.60 did with it (each confirmed by sampling or
training it; three relabelled after RLlib ran them, before the checker did). 22 have a
bug, 10 are correct.

``OWNER`` below says which check's job each bug is (set when the reports were read, as
the fault benchmark's operators name their rules). A bug counts as named when its
check fails or warns; a correct env counts against the checker when a check fails on
it, and its warnings are listed. The script runs ``check_env`` on every env (as the user
did: the class, defaults) and prints a line per env, then one line:

    bugs named N/22, correct envs failed F/10, warnings on correct envs W

    PYTHONPATH=. python benchmarks/envcheck_user_envs.py

A few seconds. Read once, the checker named 18 of the 22 (one more in part) and failed
no correct env; the misses were fixed after (not held-out). The envs are the user's, only
reformatted by the linter.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

CASES = Path(__file__).parent / "envcheck_user_envs"

# The check whose job each bug is (what RLlib did with it: labels.json).
OWNER = {
    "IntObsDtypeEnv": "default_encoder",  # int64 into torch's first layer
    "Uint8ImageEnv": "default_encoder",  # uint8 into the CNN
    "OldGymStepEnv": "gymnasium_api",
    "ObsShapeGrowsEnv": "observation_in_space",
    "IntObsFloatEnv": "observation_dtype",  # the vector env refuses the cast
    "ImageFloatEnv": "observation_dtype",
    "VectorRewardEnv": "finite_rewards",
    "NoneRewardEnv": "finite_rewards",
    "NaNRewardEnv": "finite_rewards",
    "UnseededResetEnv": "seed_determinism",
    "DiscreteStartEnv": "discrete_start",
    "TimeLimitTerminatedEnv": "time_limit_terminated",
    "SpacesInResetEnv": "agent_spaces",
    "DictMissingKeyEnv": "observation_in_space",
    "ResetNoKwargsEnv": "rllib",  # gymnasium's checker: reset() takes no seed
    "MATurnTruncNoObsEnv": "agent_ids",
    "MAMissingAllEnv": "all_key",
    "MARewardKeyMismatchEnv": "agent_ids",
    "MAAgentAfterDoneEnv": "agent_ids",
    "MASharedBoxSpaceEnv": "agent_spaces",
    "MAUndeclaredJoinerEnv": "agent_ids",
    "MAInfoGlobalKeyEnv": "agent_ids",
}


def user_envs():
    """The user's ``envs`` module, loaded from its file."""
    spec = importlib.util.spec_from_file_location("envcheck_user_envs", CASES / "envs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score() -> list[dict]:
    """One row per env: its label, the owning check's status, the checks that failed or
    warned."""
    import warnings

    from rldebug.envcheck import check_env

    envs = user_envs()
    rows = []
    for name, label in json.loads((CASES / "labels.json").read_text()).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = check_env(getattr(envs, name))
        said = {c.name: c.status for c in report.checks if c.status in ("failed", "warning")}
        owner = OWNER.get(name)
        rows.append({"env": name, "buggy": label["buggy"], "owner": owner,
                     "named": owner is not None and owner in said, "said": said})
    return rows


def score_line(rows: list[dict]) -> str:
    buggy = [r for r in rows if r["buggy"]]
    correct = [r for r in rows if not r["buggy"]]
    failed = sum("failed" in r["said"].values() for r in correct)
    warned = sum(status == "warning" for r in correct for status in r["said"].values())
    return (f"bugs named {sum(r['named'] for r in buggy)}/{len(buggy)}, correct envs failed "
            f"{failed}/{len(correct)}, warnings on correct envs {warned}")


def main() -> int:
    rows = score()
    for row in rows:
        said = ", ".join(f"{name} {status}" for name, status in row["said"].items()) or "-"
        verdict = ("named" if row["named"] else "MISSED") if row["buggy"] else "correct"
        print(f"{row['env']:24} {verdict:8} {row['owner'] or '':22} {said}")
    print(score_line(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
