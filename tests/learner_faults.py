"""PPO Learners with a planted fault in their loss, for attaching to a remote Learner."""

from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner


class PPOLearnerThatRaises(PPOTorchLearner):
    """Raises in the loss of its second minibatch; ``minibatch`` is a local there."""

    calls = 0

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        type(self).calls += 1
        minibatch = type(self).calls
        if minibatch == 2:
            raise RuntimeError(f"planted: the loss of minibatch {minibatch} fails")  # RAISE
        return super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)


class PPOLearnerWithANanLoss(PPOTorchLearner):
    """The loss of its second minibatch is NaN."""

    calls = 0

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        type(self).calls += 1
        return loss * float("nan") if type(self).calls == 2 else loss
