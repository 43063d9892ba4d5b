"""Probe environments that localise what is broken in your own RLlib config.

``rldebug.probe(config)`` trains your config (model, connectors, learner, mapping
function and hyperparameters kept) on tiny envs whose right answers are known,
written in your env's own observation and action spaces, and reports per probe
what was learned against what a working config learns:

====================  ===============================================================
probe                 a failure points at
====================  ===============================================================
1 constant            the value function is not trained
2 observation         observations do not reach the value function intact
3 delayed             discounting / bootstrapping (gamma, lambda, n-step, targets)
4 action              the policy gradient or the action distribution
5 observation_action  observations do not reach the policy intact
credit                the agent-to-module mapping (multi-agent)
shared                a module shared by agents cannot tell them apart (multi-agent)
turns                 rewards paid while an agent waits are lost (multi-agent)
====================  ===============================================================

The method is A. Jones's "Debugging RL, Without the Agonizing Pain" (probe envs 1-5),
run on the user's RLlib config rather than a reimplementation.
"""

from rldebug.probes.catalog import PROBES, Measurement, Probe
from rldebug.probes.report import ProbeReport, ProbeResult
from rldebug.probes.run import probe
from rldebug.probes.spaces import UnsupportedSpace

__all__ = ["PROBES", "Measurement", "Probe", "ProbeReport", "ProbeResult", "UnsupportedSpace",
           "probe"]
