"""Old API stack adapter: Policy + ModelV2 + RolloutWorker with agent connectors.

Observations are preprocessed the way ``Algorithm.compute_single_action`` does
it (the policy's ObsPreprocessor and MeanStd filter agent connectors, or the
worker's preprocessors and filters), then go through the policy's action distribution
as ``compute_actions`` builds it (its ``action_distribution_fn``, else ``policy.model``
and ``policy.dist_class``); values come from ``model.value_function()``, or SAC's Q net.
"""

from __future__ import annotations

import copy

import numpy as np

from rldebug.inspection._common import agent_ids
from rldebug.inspection._torch import layers_of
from rldebug.shapes.env_meta import env_of, is_multi_agent_env
from rldebug.shapes.episodes import DEFAULT_AGENT_ID, DEFAULT_MODULE_ID
from rldebug.shapes.mapping import agent_modules
from rldebug.shapes.outputs import env_action, seeded, to_numpy
from rldebug.usage import UsageError


def _class_name(cls) -> str | None:
    """A class's name; a ``functools.partial`` of one (the old stack's Box actions:
    ``partial(TorchDiagGaussian, action_space=...)``) by the class it wraps."""
    if cls is None:
        return None
    return getattr(cls, "__name__", None) or _class_name(getattr(cls, "func", None)) or \
        repr(cls)


class OldStack:
    """Everything ``inspect``/``explain`` need from an old-stack Algorithm."""

    name = "old"

    def __init__(self, algo):
        self.algo = algo
        self.worker = algo.env_runner
        self.env = env_of(algo)
        if is_multi_agent_env(self.env):
            self.agents = agent_ids(self.env)
            self.mapping, self.mapping_error = agent_modules(
                algo.config.policy_mapping_fn, self.agents, old_stack=True,
                worker=algo.env_runner)
        else:  # one agent: the same name the new stack gives it
            self.agents = [DEFAULT_AGENT_ID]
            self.mapping, self.mapping_error = {DEFAULT_AGENT_ID: [DEFAULT_MODULE_ID]}, None

    # -- structure -----------------------------------------------------------

    def module_ids(self) -> list:
        return sorted(self.worker.policy_map.keys())

    def raw_spaces(self, agent_id) -> tuple:
        get_obs = getattr(self.env, "get_observation_space", None)
        if get_obs is not None:
            return get_obs(agent_id), self.env.get_action_space(agent_id)
        return self.env.observation_space, self.env.action_space

    def module_spaces(self, module_id) -> tuple:
        policy = self.algo.get_policy(module_id)
        return policy.observation_space, policy.action_space

    def is_recurrent(self, module_id) -> bool:
        """Whether the policy's model carries a state across steps (use_lstm,
        use_attention)."""
        return bool(self.algo.get_policy(module_id).is_recurrent())

    def connectors(self) -> list[str]:
        policy = self.algo.get_policy(self.module_ids()[0])
        pipeline = getattr(policy, "agent_connectors", None)
        if pipeline is None:
            return []
        return [type(c).__name__ for c in pipeline.connectors]

    def module_details(self, module_id) -> dict:
        policy = self.algo.get_policy(module_id)
        is_trained = self.worker.is_policy_to_train
        trainable = True if is_trained is None else bool(is_trained(module_id, None))
        lr = getattr(policy, "cur_lr", None)
        return {
            "module_class": f"{type(policy).__name__} / {type(policy.model).__name__}",
            "layers": layers_of(policy.model),
            "lr": float(lr) if lr is not None else None,
            "trainable": trainable,
            "value_function": _value_function(policy.model),
            "action_distribution": _class_name(policy.dist_class),
        }

    # -- forward -------------------------------------------------------------

    def module_input(self, module_id, observations: list) -> np.ndarray:
        """Preprocess raw observations like ``Algorithm.compute_single_action`` does."""
        from ray.rllib.connectors.agent.mean_std_filter import (
            MeanStdObservationFilterAgentConnector,
        )
        from ray.rllib.connectors.agent.obs_preproc import ObsPreprocessorConnector
        from ray.rllib.connectors.connector import AgentConnectorDataType

        policy = self.algo.get_policy(module_id)
        pipeline = getattr(policy, "agent_connectors", None)
        processed = []
        for obs in observations:
            if pipeline is not None:
                for kind in (ObsPreprocessorConnector, MeanStdObservationFilterAgentConnector):
                    for connector in pipeline[kind]:
                        if getattr(connector, "is_identity", lambda: False)():
                            continue
                        # A copy in eval mode: filters must not update their statistics.
                        connector = copy.deepcopy(connector)
                        connector.in_eval()
                        connector.reset(env_id="0")
                        data = AgentConnectorDataType("0", "0", {"obs": obs})
                        obs = connector([data])[0].data["obs"]
            else:
                preprocessor = self.worker.preprocessors.get(module_id)
                if preprocessor is not None:
                    obs = preprocessor.transform(obs)
                obs = self.worker.filters[module_id](obs, update=False)
            processed.append(np.asarray(obs))
        return np.stack(processed)

    def forward(self, agent_id, module_id, observations: list, seed: int | None) -> dict:
        """The policy's action distribution as ``compute_single_action`` builds it (its
        ``action_distribution_fn``, else ``policy.model`` and ``policy.dist_class``);
        V(s) from ``model.value_function()``, or SAC's Q(s, a) from its Q net."""
        import torch
        from ray.rllib.policy.sample_batch import SampleBatch

        from rldebug.shapes.outputs import ACTOR_CRITIC, POLICY_GRADIENT, entropy_fields

        policy = self.algo.get_policy(module_id)
        model = policy.model
        if hasattr(model, "get_q_value_distributions"):
            raise UsageError(
                f"Policy {module_id!r} is an old-API-stack DQN ({type(policy).__name__}), "
                "which explain does not take: RLlib 2.60 cannot build one either (its old "
                "stack's replay buffer fails in Algorithm setup). Train DQN on the new API "
                "stack, where explain shows its Q-values.")
        module_input = self.module_input(module_id, observations)
        sac = hasattr(model, "get_action_model_outputs") and hasattr(model, "get_q_values")
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                batch = SampleBatch({"obs": torch.as_tensor(module_input, device=policy.device)})
                logits, dist_class = _distribution_inputs(policy, batch)
                dist = dist_class(logits, model)
                greedy = dist.deterministic_sample()
                with seeded(seed):
                    sampled = dist.sample()
                log_prob = dist.logp(sampled)
                entropy = entropy_fields(dist, seed)
                q_values = q_value = alpha = None
                if sac and probs_of(dist) is not None:  # discrete SAC: Q of every action
                    q_values, _ = model.get_q_values(model(batch, [], None)[0])
                    value = q_values.max(-1).values
                    alpha = float(torch.exp(model.log_alpha).reshape(-1)[0])
                elif sac:
                    model_out, _ = model(batch, [], None)
                    value, _ = model.get_q_values(model_out, greedy)  # (Q, state)
                    q_value, _ = model.get_q_values(model_out, sampled)
                    alpha = float(torch.exp(model.log_alpha).reshape(-1)[0])
                else:
                    model(batch, [], None)  # value_function() reads this forward pass
                    value = _value(model)
        finally:
            model.train(was_training)
        probs = probs_of(dist)
        gaussian = getattr(dist, "dist", None)  # DiagGaussian: a torch Normal(mean, std)
        mean, std = (gaussian.mean, gaussian.stddev) \
            if isinstance(gaussian, torch.distributions.Normal) else (None, None)
        out = {
            "mean": to_numpy(mean),
            "std": to_numpy(std),
            "family": ACTOR_CRITIC if sac else POLICY_GRADIENT,
            "distribution": type(dist).__name__,
            "module_input": module_input,
            "logits": to_numpy(logits),
            "probs": to_numpy(probs),
            "log_prob": to_numpy(log_prob),
            "value": _one_per_row(value),
            "greedy_action": to_numpy(greedy),
            "sampled_action": to_numpy(sampled),
            "env_action": env_action(to_numpy(sampled), policy.action_space, self.algo.config),
            "greedy_env_action": env_action(to_numpy(greedy), policy.action_space,
                                            self.algo.config),
            **entropy,
        }
        if sac:
            out.update(q_value=_one_per_row(q_value), q_values=to_numpy(q_values), alpha=alpha)
        return out


def probs_of(dist):
    """An old-stack Categorical's probabilities (its torch ``dist.probs``), else None."""
    return getattr(getattr(dist, "dist", None), "probs", None)


def _value_function(model) -> str | None:
    """What explain shows as a model's value (see ModuleSummary.value_function): SAC's
    Q net, else the value head a ModelV2 overrides ``value_function`` with."""
    import gymnasium as gym
    from ray.rllib.models.modelv2 import ModelV2

    if hasattr(model, "get_action_model_outputs") and hasattr(model, "get_q_values"):
        return "max over a of Q(s, a)" if isinstance(model.action_space, gym.spaces.Discrete) \
            else "Q(s, a)"
    return "V(s)" if type(model).value_function is not ModelV2.value_function else None


def _distribution_inputs(policy, batch) -> tuple:
    """``(distribution inputs, distribution class)`` as the policy's own
    ``compute_actions`` gets them (``explore=False``): its ``action_distribution_fn``
    (SAC's asks the model's policy head), else the model's output and ``dist_class``."""
    from ray.rllib.policy.torch_policy_v2 import TorchPolicyV2
    from ray.rllib.utils.annotations import is_overridden

    common = {"state_batches": [], "seq_lens": None, "explore": False,
              "timestep": policy.global_timestep, "is_training": False}
    if isinstance(policy, TorchPolicyV2):
        if is_overridden(policy.action_distribution_fn):
            inputs, dist_class, _ = policy.action_distribution_fn(policy.model,
                                                                  obs_batch=batch, **common)
            return inputs, dist_class
    elif getattr(policy, "action_distribution_fn", None):  # a TorchPolicy of RLlib's template
        inputs, dist_class, _ = policy.action_distribution_fn(policy, policy.model,
                                                              input_dict=batch, **common)
        return inputs, dist_class
    inputs, _ = policy.model(batch, [], None)
    return inputs, policy.dist_class


def _value(model):
    """V(s) of the model's last forward pass; None for a model without a value head."""
    try:
        return model.value_function()
    except NotImplementedError:  # ModelV2's default
        return None


def _one_per_row(values):
    """A value per observation: ``[B]`` from a Q net's ``[B, 1]``."""
    found = to_numpy(values)
    return found.reshape(found.shape[0]) if found is not None and found.ndim == 2 \
        and found.shape[1] == 1 else found
