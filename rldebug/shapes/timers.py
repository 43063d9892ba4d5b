"""RLlib 2.60's own timed sections of an EnvRunner's ``sample()``, summed per call.

A new-stack EnvRunner times the parts of every env step with its MetricsLogger
(``with self.metrics.log_time(key):``) and reports each as a moving average. The
sections, by the key RLlib times them under (``ray.rllib.utils.metrics``):

=====================  =========================================================
section                key
=====================  =========================================================
``env_to_module``      ``("env_to_module_connector", "connector_pipeline_timer")``
``forward``            ``"rlmodule_inference_timer"`` (``forward_exploration`` or
                       ``forward_inference``)
``module_to_env``      ``("module_to_env_connector", "connector_pipeline_timer")``
``weight_pull``        ``"env_runner_state_server_pull"`` (APPO and IMPALA: the
                       wait for the newest weights before stepping)
=====================  =========================================================

:class:`SectionClock` adds up the seconds of each section over a ``sample()`` call at
the same boundaries RLlib times, by wrapping the runner's ``metrics.log_time`` (the
averages RLlib reports are not changed). The old stack's RolloutWorker has no such
timers: nothing is recorded there.
"""

from __future__ import annotations

import time

SECTIONS = {
    ("env_to_module_connector", "connector_pipeline_timer"): "env_to_module",
    ("rlmodule_inference_timer",): "forward",
    ("module_to_env_connector", "connector_pipeline_timer"): "module_to_env",
    ("env_runner_state_server_pull",): "weight_pull",
}
SECTION_NAMES = tuple(SECTIONS.values())

# The same timers as a result row reports them (rldebug.tracing.rllib_timers reads them):
#: log_time's default, an exponential moving average of the calls with this coefficient
#: (ray.rllib.utils.metrics.stats.ema.EmaStats)
EMA_COEFF = 0.01
#: the driver's parts of an iteration: label -> result key
RESULT_DRIVER_TIMERS = {
    "sampling": "timers/env_runner_sampling_timer",
    "learner update": "timers/learner_update_timer",
    "weight sync": "timers/synch_weights",
}
#: a new-stack EnvRunner's parts of one env step, per call: label -> result key
RESULT_STEP_TIMERS = {
    "env.step": "env_runners/env_step_timer",
    "env->module connectors": "env_runners/env_to_module_connector/connector_pipeline_timer",
    "module forward": "env_runners/rlmodule_inference_timer",
    "module->env connectors": "env_runners/module_to_env_connector/connector_pipeline_timer",
}
#: the old stack's: milliseconds, the driver's each the mean of its last OLD_TIMER_WINDOW
#: calls (ray.util.timer._Timer), the RolloutWorker's sampler_perf per env step
OLD_TIMER_WINDOW = 10
RESULT_OLD_DRIVER_TIMERS = {
    "sampling": "timers/sample_time_ms",
    "learner update": "timers/learn_time_ms",
    "weight sync": "timers/synch_weights_time_ms",
}
RESULT_OLD_STEP_TIMERS = {
    "env.step": "env_runners/sampler_perf/mean_env_wait_ms",
    "observation processing": "env_runners/sampler_perf/mean_raw_obs_processing_ms",
    "policy forward": "env_runners/sampler_perf/mean_inference_ms",
    "action processing": "env_runners/sampler_perf/mean_action_processing_ms",
}


class _TimedSection:
    """RLlib's timer context, also adding its seconds to the clock's section."""

    __slots__ = ("_clock", "_inner", "_name", "_started")

    def __init__(self, clock: SectionClock, name: str, inner):
        self._clock, self._name, self._inner = clock, name, inner

    def __enter__(self):
        self._started = time.perf_counter()
        return self._inner.__enter__()

    def __exit__(self, *exc):
        try:
            return self._inner.__exit__(*exc)
        finally:
            self._clock.seconds[self._name] += time.perf_counter() - self._started


class SectionClock:
    """Seconds per section of one EnvRunner since the last :meth:`take`."""

    def __init__(self):
        self.seconds = dict.fromkeys(SECTION_NAMES, 0.0)
        self._metrics = None

    def watch(self, env_runner) -> None:
        """Time ``env_runner``'s sections (again, if it has a new MetricsLogger)."""
        metrics = getattr(env_runner, "metrics", None)
        if metrics is None or metrics is self._metrics or \
                not callable(getattr(metrics, "log_time", None)):
            return
        log_time = metrics.log_time

        def timed_log_time(key, *args, **kwargs):
            inner = log_time(key, *args, **kwargs)
            name = SECTIONS.get(key if isinstance(key, tuple) else (key,))
            return inner if name is None else _TimedSection(self, name, inner)

        metrics.log_time = timed_log_time
        self._metrics = metrics

    def take(self) -> dict[str, float] | None:
        """The seconds per section since the last call (None: nothing was timed)."""
        taken = self.seconds
        self.seconds = dict.fromkeys(SECTION_NAMES, 0.0)
        return taken if any(taken.values()) else None


__all__ = ["SECTIONS", "SECTION_NAMES", "SectionClock"]
