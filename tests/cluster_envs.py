"""An env for the multi-node trace test: RLlib's crashing CartPole, with a rare info event."""

from ray.rllib.examples.envs.classes.cartpole_crashing import CartPoleCrashing


class FlaggedCartPole(CartPoleCrashing):
    """Every 25th step of an env instance sets ``info["rare"]`` (for ``break_on(events=)``)."""

    INFO_EVENTS = ("rare",)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self._flag_count = getattr(self, "_flag_count", 0) + 1
        return obs, reward, terminated, truncated, {**info, "rare": self._flag_count % 25 == 0}
