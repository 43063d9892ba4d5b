"""RLlib 2.60's own example env classes, constructed as its example scripts construct
them: for tests that check an rldebug tool accepts every env RLlib accepts."""

import gymnasium as gym
from ray.rllib.env.multi_agent_env import MultiAgentEnv

# Constructor arguments RLlib's own example scripts give these classes (CartPoleCrashing
# crashes at random from an unseeded RNG by design: its crashes are switched off).
EXAMPLE_ENV_ARGS = {"CartPoleCrashing": {"p_crash": 0.0},
                    "MultiAgentDebugCounterEnv": {"num_agents": 2},
                    "ParametricActionsCartPole": {"max_avail_actions": 4},
                    "ParametricActionsCartPoleNoEmbeddings": {"max_avail_actions": 4},
                    "MockEnv2": {"episode_length": 10}}


def example_env_classes():
    """(dotted name, class or None, why not) for every env class in RLlib's examples."""
    import importlib
    import inspect
    import pkgutil

    import ray.rllib.examples.envs.classes as single
    import ray.rllib.examples.envs.classes.multi_agent as multi

    for package in (single, multi):
        for info in pkgutil.iter_modules(package.__path__):
            name = f"{package.__name__}.{info.name}"
            try:
                module = importlib.import_module(name)
            except ImportError as err:  # needs a package not installed here
                yield name, None, str(err)
                continue
            for attr, obj in sorted(vars(module).items()):
                if inspect.isclass(obj) and obj.__module__ == module.__name__ and \
                        issubclass(obj, (gym.Env, MultiAgentEnv)):
                    yield f"{name}.{attr}", obj, None


def creator(cls):
    """An env creator for ``cls`` (a function of ``env_config``, as RLlib registers)."""
    def make(env_config):
        kwargs = EXAMPLE_ENV_ARGS.get(cls.__name__)
        if kwargs is not None:
            try:
                return cls(**kwargs)
            except TypeError:
                return cls(kwargs)
        try:
            return cls(env_config)
        except TypeError:
            return cls()
    return make
