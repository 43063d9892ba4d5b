"""The ``learner_bound`` rule on real IMPALA runs with a remote Learner and a remote
EnvRunner: a Learner 1 s slower per loss than sampling makes RLlib's LearnerGroup drop
sampled batches (``learner_group_ts_dropped_lifetime``), named with their share; the same
run with RLlib's own Learner keeps up and gets no finding."""

import pytest
from ray.rllib.algorithms.impala import IMPALAConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from slow_parts import SlowCartPole, SlowIMPALALearner

from rldebug.doctor import diagnose


def _results(learner_class=None, iterations=10, until_dropped=False, env="CartPole-v1",
             env_config=None):
    """``iterations`` results; with ``until_dropped``, up to 3x as many, ending two
    iterations after RLlib first dropped steps (on a loaded machine sampling slows down
    too, and the Learner falls behind later)."""
    config = (IMPALAConfig().environment(env, env_config=env_config or {})
              .env_runners(num_env_runners=1, rollout_fragment_length=50)
              .learners(num_learners=1, learner_class=learner_class)
              .training(train_batch_size_per_learner=100)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16]))
              .reporting(min_time_s_per_iteration=1, min_sample_timesteps_per_iteration=200)
              .debugging(seed=0))
    algo = config.build_algo()
    results, dropped_at = [], None
    try:
        while len(results) < (3 * iterations if until_dropped else iterations):
            results.append(algo.train())
            if dropped_at is None and \
                    results[-1].get("learner_group", {}).get(
                        "learner_group_ts_dropped_lifetime", 0) > 0:
                dropped_at = len(results)
            if until_dropped and len(results) >= iterations and dropped_at and \
                    len(results) >= dropped_at + 2:
                break
        return results
    finally:
        algo.stop()


@pytest.mark.slow  # 30-50 s of IMPALA; the default run's 15-minute budget
def test_a_learner_slower_than_sampling_drops_batches_and_is_named():
    results = _results(SlowIMPALALearner, until_dropped=True)
    dropped = results[-1]["learner_group"]["learner_group_ts_dropped_lifetime"]
    assert dropped > 0  # RLlib dropped sampled steps
    [found] = [f for f in diagnose(results).findings if f.rule_id == "learner_bound"]
    assert found.severity == "warning" and found.evidence["dropped_env_steps"] == dropped
    assert found.evidence["iterations"] and "num_learners" in found.fix
    # The share is of everything sampled up to the last iteration, also when RLlib stopped
    # dropping steps some iterations before it.
    sampled = results[-1]["env_runners"]["num_env_steps_sampled_lifetime"]
    assert found.evidence["env_steps_sampled"] == sampled
    assert f"{dropped / sampled:.0%}" in found.message


@pytest.mark.slow  # 30-50 s of IMPALA; the default run's 15-minute budget
def test_a_learner_that_keeps_up_is_not_named():
    # 5 ms per env step: 0.5 s to sample a 100-step batch, ten times RLlib's own update
    # here, so its Learner keeps up also on a loaded 2-core machine (on plain CartPole it
    # was seen to fall behind and drop steps by the fourth iteration). The slow Learner
    # above samples plain CartPole: on a loaded machine, 5 ms steps came close to its
    # 1 s per update, and it dropped nothing in 30 iterations.
    results = _results(iterations=6, env=SlowCartPole, env_config={"delay_s": 0.005})
    assert results[-1]["learner_group"]["learner_group_ts_dropped_lifetime"] == 0
    assert not [f for f in diagnose(results).findings if f.rule_id == "learner_bound"]
