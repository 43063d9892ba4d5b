"""A PPO Learner with faults planted in its loss, for attaching to a remote Learner."""

from ray.rllib.algorithms.appo.torch.appo_torch_learner import APPOTorchLearner
from ray.rllib.algorithms.impala.torch.impala_torch_learner import IMPALATorchLearner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner


class PPOLearnerWithPlantedFaults(PPOTorchLearner):
    """Its fourth minibatch's loss is 10,000 times what it computed (a spike), its fifth's
    is NaN and its sixth raises (with ``minibatch`` a local of the raising frame)."""

    calls = 0

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        type(self).calls += 1
        minibatch = type(self).calls
        if minibatch == 6:
            raise RuntimeError(f"planted: the loss of minibatch {minibatch} fails")  # RAISE
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        return loss * {4: 1e4, 5: float("nan")}.get(minibatch, 1.0)


class IMPALALearnerThatRaises(IMPALATorchLearner):
    """An IMPALA Learner whose second loss raises, in RLlib's learner thread."""

    calls = 0

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        type(self).calls += 1
        update = type(self).calls
        if update == 2:
            raise RuntimeError(f"planted: IMPALA's loss {update} fails")  # THREAD-RAISE
        return super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)


class APPOLearnerThatCounts(APPOTorchLearner):
    """An APPO Learner that appends a line to ``learner_config_dict["count_file"]`` for
    every update its learner thread runs (one minibatch each)."""

    def _update(self, *args, **kwargs):
        result = super()._update(*args, **kwargs)
        with open(self.config.learner_config_dict["count_file"], "a") as counted:
            counted.write("update\n")
        return result
