"""The tutorial's Keras model on RLlib 2.60's old API stack (framework="tf2").

RLlib 2.60's new stack is torch-only; the old stack still trains with
TensorFlow, but only with Keras 2: TensorFlow 2.21 ships Keras 3, whose Adam
rejects the tf.Variable learning rate RLlib passes ("Argument `learning_rate`
should be float..."). Install the ``tf`` extra (tensorflow + tf-keras) and this
recipe sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow is imported, in this
process and in every Ray worker.

    pip install -e ".[tf]"
    python recipes/keras_model.py [--smoke] [--layers 128 128]
"""

import argparse
import importlib.util
import os

# Keras 2 (tf-keras) must be chosen before tensorflow is first imported.
os.environ["TF_USE_LEGACY_KERAS"] = "1"

REQUIRES = ("tensorflow", "tf_keras")


def make_keras_model_class():
    """The dense stack with separate logits and value heads, as a TFModelV2."""
    import tensorflow as tf
    from ray.rllib.models.tf.tf_modelv2 import TFModelV2

    class KerasDenseStack(TFModelV2):
        def __init__(self, obs_space, action_space, num_outputs, model_config, name,
                     layers=(256, 256)):
            super().__init__(obs_space, action_space, num_outputs, model_config, name)
            inputs = tf.keras.layers.Input(shape=obs_space.shape, name="observations")
            out = inputs
            for i, size in enumerate(layers):
                out = tf.keras.layers.Dense(size, activation=tf.nn.relu, name=f"dense_{i}")(out)
            logits = tf.keras.layers.Dense(num_outputs, name="logits")(out)
            values = tf.keras.layers.Dense(1, name="values")(out)
            self.base_model = tf.keras.Model(inputs, [logits, values])
            self._values = None

        def forward(self, input_dict, state, seq_lens):
            logits, self._values = self.base_model(input_dict["obs_flat"])
            return logits, state

        def value_function(self):
            return tf.reshape(self._values, [-1])

    return KerasDenseStack


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--layers", type=int, nargs="+", default=[128, 128])
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)
    missing = [name for name in REQUIRES if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"keras_model.py needs {missing}, which are not installed: "
                         "pip install -e '.[tf]' (tensorflow + tf-keras).")

    from ray.rllib.models import ModelCatalog

    import rldebug
    from rldebug.arena.config import SMOKE_SETTINGS

    rldebug.start_ray(runtime_env={"env_vars": {"TF_USE_LEGACY_KERAS": "1"}})
    ModelCatalog.register_custom_model("keras_dense_stack", make_keras_model_class())
    sizes = {k: v for k, v in SMOKE_SETTINGS.items() if k != "fcnet_hiddens"} \
        if args.smoke else {}
    config = rldebug.arena_ppo_config(api_stack="old", seed=0, lr=5e-4, **sizes)
    config.framework("tf2")
    config.training(model={"custom_model": "keras_dense_stack", "custom_model_config": {
        "layers": [16] if args.smoke else args.layers}})
    stop = ({"training_iteration": 2} if args.smoke
            else {"env_runners/episode_return_mean": 15, "training_iteration": 300})
    run = rldebug.run(config, stop=stop, logdir=args.logdir, progress=not args.smoke)
    model = run.algo.get_policy("pol1").model
    model.base_model.summary()
    layers = [16] if args.smoke else args.layers
    # The check: the policy acts through the Keras layers asked for.
    built = [layer.units for layer in model.base_model.layers
             if layer.name.startswith("dense_")]
    ret = run.last_result["env_runners"]["episode_return_mean"]
    run.algo.stop()
    if built != layers:
        raise SystemExit(f"asked for Keras dense layers {layers}, pol1's model has {built}")
    if not args.smoke and ret < 15:
        raise SystemExit(f"the arena's return reached {ret:.2f}, below the target 15")
    print(f"TensorBoard: tensorboard --logdir {run.logdir}")
    print(f"done: Keras dense layers {built}, return {ret:.2f}")
    return run


if __name__ == "__main__":
    main()
