"""What a script that builds its Algorithms itself (no Tune) sees, run plain and under
``rldebug debug``: the printed JSON must be the same (``tests/test_debug_build_algo.py``).

    python build_algo_semantics.py CHECKPOINT_DIR
"""

import functools
import json
import pickle
import sys
from pathlib import Path

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback

OUT = Path(sys.argv[1])
seen = {}


def tiny(runners=1):
    return (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=runners)
            .training(train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1))


class Tagged(RLlibCallback):
    """Callbacks configured with an argument, as RLlib allows: a callable returning one."""

    def __init__(self, tag):
        super().__init__()
        self.tag = tag

    def on_train_result(self, *, algorithm, result, **kwargs):
        result["tag"] = self.tag


# Callbacks given as functools.partial, with a remote EnvRunner; then the script's own
# Ray calls, Ray not started by the script: ray.put starts it, as plain Ray does.
algo = tiny().callbacks(functools.partial(Tagged, tag="partial")).build_algo()
seen["partial_callbacks"] = algo.train().get("tag")
ref = ray.put(algo.get_module().get_state())
seen["own_put"] = type(ref).__name__
seen["own_wait"] = len(ray.wait([ref], timeout=30)[0])


@ray.remote
def count(state):
    return len(state)


seen["own_remote_and_get"] = [ray.get(count.remote(ref)), len(ray.get(ref))]

# A checkpoint stores the config as the script gave it: trained again from it elsewhere,
# the Algorithm has its EnvRunner and the script's callbacks.
algo.save_to_path(str(OUT / "new_stack"))
algo.stop()
with open(OUT / "new_stack" / "class_and_ctor_args.pkl", "rb") as f:
    stored = pickle.load(f)["ctor_args_and_kwargs"][0][0]
seen["new_stack_checkpoint"] = [stored["num_env_runners"], stored["callbacks_class"].func.__name__]
old = tiny().api_stack(enable_rl_module_and_learner=False,
                       enable_env_runner_and_connector_v2=False).build_algo()
old.save(str(OUT / "old_stack"))
old.stop()
with open(OUT / "old_stack" / "algorithm_state.pkl", "rb") as f:
    stored = pickle.load(f)["config"]
seen["old_stack_checkpoint"] = [stored["num_env_runners"], stored["callbacks_class"].__name__]

# A config RLlib refuses as given is refused, also where in-process it would not be.
try:
    tiny().evaluation(evaluation_interval=1, evaluation_parallel_to_training=True,
                      evaluation_num_env_runners=0).build_algo()
    seen["eval_refused"] = "built"
except ValueError as err:
    seen["eval_refused"] = str(err)[:60]

# ray.init twice, without ignore_reinit_error: Ray's error.
ray.shutdown()
ray.init(num_cpus=2, include_dashboard=False)
try:
    ray.init(num_cpus=2, include_dashboard=False)
    seen["init_twice"] = "accepted"
except RuntimeError as err:
    seen["init_twice"] = str(err)[:40]
seen["init_twice_ignored"] = type(ray.init(ignore_reinit_error=True)).__name__

# A Tune trial's checkpoint stores the config as the script gave it too.
from ray import tune  # after the Ray calls above, as a script may import it

grid = tune.Tuner("PPO", param_space=tiny(), run_config=tune.RunConfig(
    storage_path=str(OUT / "tune"), name="trial", verbose=0,
    stop={"training_iteration": 1})).fit()
with open(Path(grid[0].checkpoint.path, "class_and_ctor_args.pkl"), "rb") as f:
    stored = pickle.load(f)["ctor_args_and_kwargs"][0][0]
seen["tune_checkpoint"] = [stored["num_env_runners"], stored["callbacks_class"].__name__]

print("SEEN " + json.dumps(seen, sort_keys=True))
