"""The probe report: per probe pass/fail with the learned numbers, and what failures localise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rldebug.probes.catalog import PROBES, Measurement

PASS, FAIL, NOT_APPLICABLE, ERROR = "pass", "fail", "n/a", "error"
# Cut by the time budget: STOPPED while training (its measurements so far kept),
# NOT_RUN before it started. Neither counts as passed or as failed.
STOPPED, NOT_RUN = "stopped", "not run"


@dataclass
class ProbeResult:
    name: str
    status: str
    measurements: list[Measurement] = field(default_factory=list)
    iterations: int = 0
    env_steps: int = 0
    seconds: float = 0.0
    note: str = ""
    # Set when the probe fails only because of the config (a module it measures is
    # never updated): what in the config, instead of what the probe localises.
    config_cause: str = ""
    # The probe trained again with one setting changed, when that setting may explain the
    # failure: {"setting": "entropy_coeff", "yours": "5.0", "tried": "0.0", "status":
    # PASS or FAIL, "iterations": n, "config": "PPOConfig", "default": "0.0"}.
    retried: dict | None = None
    # A failed policy probe whose env never received an action near the rewarded one:
    # per agent, the range of Box actions it did receive ('' when it did).
    unreached: str = ""

    @property
    def probe(self):
        return PROBES[self.name]

    def to_dict(self) -> dict:
        p = self.probe
        return {"probe": self.name, "number": p.number, "title": p.title,
                "status": self.status, "expects": p.expects,
                "localises": p.localises if self.status == FAIL and not self.config_cause
                else None,
                "iterations": self.iterations, "env_steps": self.env_steps,
                "seconds": round(self.seconds, 2), "note": self.note or None,
                "config_cause": self.config_cause or None,
                "retried": self.retried, "unreached": self.unreached or None,
                "measurements": [m.to_dict() for m in self.measurements]}


# Readings across probes that point at one place more precisely than each probe alone.
_COMBINED = (
    (("observation", "observation_action"), ("constant", "action"),
     ("Both observation probes fail while the constant-reward and action probes pass: the "
      "observation does not reach the module intact. Look at the env-to-module connectors "
      "and the encoder (what explain(...).module_input shows for two different states).")),
    (("constant", "delayed"), ("action",),
     ("The value probes fail while the policy learns: the value function is not trained "
      "(a detached or frozen value output, vf_loss_coeff = 0, or a critic learning rate of "
      "0).")),
)


def _config_fix(cause: str) -> str:
    """The fix for a probe that fails because of the config (``cause``: the note
    :mod:`rldebug.probes.run` wrote, "module 'p1' is never updated (lr=0: ...)")."""
    if "(vf_loss_coeff=0" in cause:
        fix = ("Give vf_loss_coeff a value above 0 (RLlib's default: 1.0 for PPO, 0.5 for "
               "APPO and IMPALA), or set use_critic=False where no value function is meant")
    elif "never moves its weights" in cause:
        fix = "Give the learning rate a value above 0"
    elif "(actor_lr=0" in cause:
        fix = "Give actor_lr a value above 0"
    elif "(critic_lr=0" in cause:
        fix = "Give critic_lr a value above 0"
    else:
        return ("Every other agent's checks hold. Add the module to policies_to_train, or "
                "leave policies_to_train=None to train every module.")
    if "in its own settings" in cause:
        return (f"Every other agent's checks hold. {fix} in the module's own settings "
                "(algorithm_config_overrides_per_module); a module meant to stay as it is "
                "belongs outside policies_to_train.")
    return f"{fix}."


def _failure_sentence(result: ProbeResult, status: dict[str, str]) -> str:
    """What one failed probe points at: what it localises, unless the probe it builds on
    failed too (then it adds nothing), or a re-trial with one setting changed passed
    (then that setting)."""
    probe, retried = result.probe, result.retried
    head = f"probe {probe.number} ({probe.title}) fails"
    if retried and retried["status"] == PASS:
        return (f"{head} because of {retried['setting']}={retried['yours']}: trained again "
                f"with {retried['setting']}={retried['tried']} it passes "
                f"({retried['iterations']} iterations). "
                f"{_RETRIED[retried['setting']].format(**retried)}")
    if result.unreached:
        return (f"{head}: {result.unreached}. Whatever the module learns, no action it "
                "takes reaches the reward: look at what turns the module's output into "
                "the env's action (a module-to-env connector, normalize_actions/"
                "clip_actions) and at where its action distribution starts.")
    given = probe.given
    if given and status.get(given[0]) == FAIL:
        needed = PROBES[given[0]]
        return (f"{head} too, which follows from probe {needed.number}'s failure: it "
                f"localises nothing more until probe {needed.number} passes.")
    also = f" {given[1]}." if given and status.get(given[0]) == PASS else ""
    if retried:
        also += (f" Trained again with {retried['setting']}={retried['tried']} it fails "
                 f"too: {retried['setting']} is not the cause.")
    return f"{head}: {probe.localises}.{also}"


# What a setting whose change made a failed probe pass does, and the fix.
_RETRIED = {
    "entropy_coeff": ("The entropy bonus outweighs the reward and keeps the policy near "
                      "uniform: lower entropy_coeff ({config}'s default is {default})."),
}


@dataclass
class ProbeReport:
    """What ``rldebug.probe(config)`` found. ``passed`` is True when every applicable
    probe passed; ``changes`` lists what the probe runs changed in the config."""

    algorithm: str
    family: str
    api_stack: str
    agents: dict[Any, dict]
    results: list[ProbeResult]
    changes: dict[str, tuple]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(r.status in (PASS, NOT_APPLICABLE) for r in self.results)

    def result(self, name: str) -> ProbeResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no probe {name!r} in this report; it has "
                       f"{[r.name for r in self.results]}.")

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.results if r.status in (FAIL, ERROR)]

    @property
    def unfinished(self) -> list[str]:
        """Probes the time budget cut (stopped while training, or not run)."""
        return [r.name for r in self.results if r.status in (STOPPED, NOT_RUN)]

    def diagnosis(self) -> list[str]:
        """One sentence per failed probe (what it localises), plus combined readings."""
        status = {r.name: r.status for r in self.results}
        lines = []
        from_config = {r.name for r in self.results if r.config_cause}
        for failing, passing, sentence in _COMBINED:
            if all(status.get(n) == FAIL for n in failing) and all(
                    status.get(n) == PASS for n in passing) and \
                    not from_config.intersection(failing):
                lines.append(sentence)
        by_config: dict[str, list[str]] = {}
        for r in self.results:
            if r.status == FAIL and r.config_cause:
                by_config.setdefault(r.config_cause, []).append(r.probe.number)
        for cause, numbers in by_config.items():
            lines.append(f"probe(s) {', '.join(numbers)} fail because of the config, not "
                         f"learning: {cause}. {_config_fix(cause)}")
        for r in self.results:
            if r.status == FAIL and not r.config_cause:
                lines.append(_failure_sentence(r, status))
            elif r.status == ERROR:
                lines.append(f"probe {r.probe.number} ({r.probe.title}) could not run: {r.note}")
        if self.unfinished:
            lines.append(f"the time budget ended before {', '.join(self.unfinished)} "
                         "finished: nothing is said about them")
        return lines

    def to_dict(self) -> dict:
        return {"algorithm": self.algorithm, "family": self.family, "api_stack": self.api_stack,
                "agents": {str(a): v for a, v in self.agents.items()},
                "passed": self.passed, "seconds": round(self.seconds, 2),
                "changes": {k: [repr(old), repr(new)] for k, (old, new) in self.changes.items()},
                "probes": [r.to_dict() for r in self.results],
                "diagnosis": self.diagnosis()}

    def __str__(self) -> str:
        out = [(f"rldebug probe: {self.algorithm} ({self.family}, {self.api_stack} stack), "
                f"{len(self.agents)} agent(s), {self.seconds:.1f} s")]
        for r in self.results:
            p = r.probe
            head = f"{r.status.upper():5} {p.number:>6}  {p.title}"
            if r.status in (PASS, FAIL, STOPPED):
                head += f"  ({r.iterations} it, {r.env_steps} steps, {r.seconds:.1f} s)"
            out.append(head)
            if r.note:
                out.append(f"              {r.note}")
            if r.retried:
                out.append(f"              trained again with {r.retried['setting']}="
                           f"{r.retried['tried']}: {r.retried['status'].upper()} "
                           f"({r.retried['iterations']} it)")
            for m in r.measurements:
                mark = "ok " if m.ok else "BAD"
                who = m.agent if len(self.agents) > 1 else m.module
                out.append(f"        {mark} {who}: {m.quantity} = {m.got} "
                           f"(expected {m.expected})")
        lines = self.diagnosis()
        out.append("All probes pass." if self.passed else
                   "What the failures point at:" if self.failed else "Not finished:")
        out += [f"  - {line}" for line in lines]
        if self.changes:
            changed = ", ".join(f"{k}={new!r}" for k, (_, new) in self.changes.items())
            out.append(f"Changed in your config for the probes: {changed}.")
        return "\n".join(out)


__all__ = ["ERROR", "FAIL", "NOT_APPLICABLE", "NOT_RUN", "PASS", "STOPPED", "ProbeReport",
           "ProbeResult"]
