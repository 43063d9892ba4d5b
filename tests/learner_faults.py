"""A PPO Learner with faults planted in its loss, for attaching to a remote Learner."""

from ray.rllib.algorithms.impala.torch.impala_torch_learner import IMPALATorchLearner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner


class PPOLearnerWithPlantedFaults(PPOTorchLearner):
    """The loss of its second minibatch is NaN; its third minibatch's loss raises (with
    ``minibatch`` a local of the raising frame)."""

    calls = 0

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        type(self).calls += 1
        minibatch = type(self).calls
        if minibatch == 3:
            raise RuntimeError(f"planted: the loss of minibatch {minibatch} fails")  # RAISE
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        return loss * float("nan") if minibatch == 2 else loss


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
