# ruff: noqa  -- a new user's script, kept as it was written (tests/doctor_user_runs8)
"""Labelled training runs (batch8). Usage:
  python make_runs.py one <run_name> [outroot]   # train one run in this process
  python make_runs.py all                        # all runs, sequentially, one subprocess each

Written by the helper that made batch 8 (in /tmp/s51/batch8, 2026-12-08); kept as written
but for its paths: it trains into raw_runs/, and the stored runs/ are those stripped by
benchmarks.run_store.copy_trial:

  PYTHONPATH=. python -c "from pathlib import Path; from benchmarks.run_store import copy_trial;
  [copy_trial(r, Path('tests/doctor_user_runs8/runs') / r.name)
   for r in sorted(Path('tests/doctor_user_runs8/raw_runs').iterdir())]"
"""
import os
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
import sys, json, time, subprocess, traceback, copy

ROOT = os.path.dirname(os.path.abspath(__file__))  # written in /tmp/s51/batch8
sys.path.insert(0, ROOT)
PY = sys.executable

# ------------------------------------------------------------------ bases
BASE_INFO = {
    "irr_ppo": dict(
        iters=20,
        desc="PPO (new API stack), IrrigationTank env: discrete 3 pump settings, costs only (all rewards <= 0: pumping cost, "
             "crop stress below level 0.3, spill above 0.9, -10 and terminal if the tank runs dry), 100-step episodes; "
             "lr=1e-3, gamma=0.99, lambda=0.95, train_batch_size_per_learner=4000, minibatch_size=256, num_epochs=6, "
             "entropy_coeff=0.0, vf_clip_param=10, clip_param=0.2, grad_clip=None, fcnet [64,64] tanh, num_env_runners=0, seed={seed}; {iters} iterations"),
    "wh_dqn": dict(
        iters=14,
        desc="DQN (new API stack), WarehouseRobot env: 7-slot aisle, discrete left/right/pick-drop, sparse +1 only per delivery "
             "(pick at ordered shelf, drop at dock; delayed reward), terminal after 6 deliveries, cap 60 steps; lr=1e-3, gamma=0.95, "
             "train_batch_size_per_learner=64, replay EpisodeReplayBuffer capacity 50000, num_steps_sampled_before_learning_starts=1000, "
             "target_network_update_freq=500, double_q, dueling, n_step=1, epsilon 1.0->0.05 over 5000 steps, rollout_fragment_length=4, training_intensity default, "
             "fcnet [64,64] relu, no extra head layers, min_sample_timesteps_per_iteration=1000, num_env_runners=0, seed={seed}; {iters} iterations"),
    "heat_sac": dict(
        iters=14,
        desc="SAC (new API stack), RoomHeater env: continuous Box(1) heater power in [-1,1], reward = -|T-setpoint|/5 - 0.1*power "
             "(all <= 0), -5 and terminal above 32 C, setpoint changes every 25 steps, 50-step episodes; actor_lr=critic_lr=alpha_lr=3e-4, "
             "gamma=0.95, tau=0.005, target_entropy='auto' (=-1), initial_alpha=1.0, train_batch_size_per_learner=128, "
             "replay EpisodeReplayBuffer capacity 50000, num_steps_sampled_before_learning_starts=500, n_step=1, twin_q, rollout_fragment_length=2, "
             "fcnet [64,64] relu, min_sample_timesteps_per_iteration=400, num_env_runners=0, seed={seed}; {iters} iterations"),
    "fish_mappo": dict(
        iters=15,
        desc="multi-agent PPO (new API stack), SharedFishery env: two boats agent0/agent1 mapped to modules boat0/boat1, "
             "discrete effort {{0,1,2}}, reward = 10*catch per boat, common stock regrows logistically, collapse below 0.3 = terminal with -3 "
             "each, 50-step episodes; lr=5e-4, gamma=0.99, lambda=0.95, train_batch_size_per_learner=2000, minibatch_size=128, "
             "num_epochs=6, entropy_coeff=0.0, vf_clip_param=10, clip_param=0.3 (default), fcnet [64,64] tanh per module, num_env_runners=0, seed={seed}; {iters} iterations"),
    "batt_appo": dict(
        iters=15,
        desc="APPO (new API stack), BatteryArbitrage env: discrete charge/idle/discharge on a sinusoidal day price, reward = money "
             "earned minus 0.02 wear per trade (mixed sign), 48-step episodes, no terminal state; lr=5e-4, gamma=0.99, lambda=1.0, "
             "train_batch_size_per_learner=500, rollout_fragment_length=50, entropy_coeff=0.01, vf_loss_coeff=0.5, clip_param=0.4, "
             "use_kl_loss=False, grad_clip=40, fcnet [64,64] tanh, min_sample_timesteps_per_iteration=2000, min_time_s_per_iteration=1, num_env_runners=0, "
             "num_learners=0, seed={seed}; {iters} iterations"),
}

_SWAP = {"ep": None, "n": 0}


def map_fixed(agent_id, episode, **kw):
    return "boat0" if agent_id == "agent0" else "boat1"


def map_swap_every_other_episode(agent_id, episode, **kw):
    eid = getattr(episode, "id_", None)
    if eid != _SWAP["ep"]:
        _SWAP["ep"] = eid
        _SWAP["n"] += 1
    swap = _SWAP["n"] % 2 == 0
    own = "boat0" if agent_id == "agent0" else "boat1"
    if swap:
        return "boat1" if own == "boat0" else "boat0"
    return own


def register():
    from ray.tune.registry import register_env
    import user_envs8 as U
    register_env("IrrigationTank-v8", lambda c: U.IrrigationTankEnv(c))
    register_env("WarehouseRobot-v8", lambda c: U.WarehouseRobotEnv(c))
    register_env("RoomHeater-v8", lambda c: U.RoomHeaterEnv(c))
    register_env("SharedFishery-v8", lambda c: U.SharedFisheryEnv(c))
    register_env("BatteryArbitrage-v8", lambda c: U.BatteryArbitrageEnv(c))


def build_config(base, seed=0, env_cfg=None, train=None, extra=None):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    env_cfg = dict(env_cfg or {})
    train = dict(train or {})
    mc = DefaultModelConfig(fcnet_hiddens=[64, 64], fcnet_activation="tanh")
    if base == "irr_ppo":
        from ray.rllib.algorithms.ppo import PPOConfig
        t = dict(lr=1e-3, gamma=0.99, lambda_=0.95, train_batch_size_per_learner=4000, minibatch_size=256,
                 num_epochs=6, entropy_coeff=0.0, vf_clip_param=10.0, clip_param=0.2)
        t.update(train)
        cfg = (PPOConfig().environment("IrrigationTank-v8", env_config=env_cfg)
               .env_runners(num_env_runners=0).training(**t).rl_module(model_config=mc))
    elif base == "wh_dqn":
        from ray.rllib.algorithms.dqn import DQNConfig
        mc = DefaultModelConfig(fcnet_hiddens=[64, 64], fcnet_activation="relu", head_fcnet_hiddens=[])
        t = dict(lr=1e-3, gamma=0.95, train_batch_size_per_learner=64,
                 replay_buffer_config={"type": "EpisodeReplayBuffer", "capacity": 50000},
                 num_steps_sampled_before_learning_starts=1000, target_network_update_freq=500,
                 double_q=True, dueling=True, n_step=1, epsilon=[(0, 1.0), (5000, 0.05)])
        t.update(train)
        cfg = (DQNConfig().environment("WarehouseRobot-v8", env_config=env_cfg)
               .env_runners(num_env_runners=0, rollout_fragment_length=4).training(**t).rl_module(model_config=mc)
               .reporting(min_sample_timesteps_per_iteration=1000))
    elif base == "heat_sac":
        from ray.rllib.algorithms.sac import SACConfig
        mc = DefaultModelConfig(fcnet_hiddens=[64, 64], fcnet_activation="relu")
        t = dict(actor_lr=3e-4, critic_lr=3e-4, alpha_lr=3e-4, gamma=0.95, tau=0.005, target_entropy="auto",
                 initial_alpha=1.0, train_batch_size_per_learner=128,
                 replay_buffer_config={"type": "EpisodeReplayBuffer", "capacity": 50000},
                 num_steps_sampled_before_learning_starts=500, n_step=1, twin_q=True)
        t.update(train)
        cfg = (SACConfig().environment("RoomHeater-v8", env_config=env_cfg)
               .env_runners(num_env_runners=0, rollout_fragment_length=2).training(**t).rl_module(model_config=mc)
               .reporting(min_sample_timesteps_per_iteration=400))
    elif base == "fish_mappo":
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.core.rl_module.rl_module import RLModuleSpec
        from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
        t = dict(lr=5e-4, gamma=0.99, lambda_=0.95, train_batch_size_per_learner=2000, minibatch_size=128,
                 num_epochs=6, entropy_coeff=0.0, vf_clip_param=10.0)
        t.update(train)
        mapfn = (extra or {}).get("policy_mapping_fn", map_fixed)
        cfg = (PPOConfig().environment("SharedFishery-v8", env_config=env_cfg)
               .env_runners(num_env_runners=0).training(**t)
               .multi_agent(policies={"boat0", "boat1"}, policy_mapping_fn=mapfn)
               .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
                   "boat0": RLModuleSpec(model_config=mc), "boat1": RLModuleSpec(model_config=mc)})))
    elif base == "batt_appo":
        from ray.rllib.algorithms.appo import APPOConfig
        t = dict(lr=5e-4, gamma=0.99, lambda_=1.0, train_batch_size_per_learner=500, entropy_coeff=0.01,
                 vf_loss_coeff=0.5, clip_param=0.4, use_kl_loss=False, grad_clip=40.0)
        t.update(train)
        cfg = (APPOConfig().environment("BatteryArbitrage-v8", env_config=env_cfg)
               .env_runners(num_env_runners=0, rollout_fragment_length=50).training(**t)
               .learners(num_learners=0).rl_module(model_config=mc)
               .reporting(min_sample_timesteps_per_iteration=2000, min_time_s_per_iteration=1))
    else:
        raise ValueError(base)
    cfg = cfg.debugging(seed=seed)
    return cfg


# ------------------------------------------------------------------ runs
# name: (base, operator, seed, env_cfg, train, extra, traced, made-change text, module)
RUNS = {}


def R(name, base, op, change, env_cfg=None, train=None, extra=None, traced=None, seed=0, module=None):
    RUNS[name] = dict(base=base, op=op, change=change, env_cfg=env_cfg or {}, train=train or {},
                      extra=extra or {}, traced=traced, seed=seed, module=module)


# healthy
R("irr_ppo_healthy", "irr_ppo", None, "healthy")
R("irr_ppo_healthy_seed1", "irr_ppo", None, "healthy", seed=1)
R("wh_dqn_healthy", "wh_dqn", None, "healthy")
R("heat_sac_healthy", "heat_sac", None, "healthy")
R("fish_mappo_healthy", "fish_mappo", None, "healthy")
R("batt_appo_healthy", "batt_appo", None, "healthy")
# irrigation PPO
R("irr_ppo_lr_x100", "irr_ppo", "lr_x100", "lr=0.1 (x100)", train=dict(lr=0.1))
R("irr_ppo_entropy_coeff_1", "irr_ppo", "entropy_coeff_1", "entropy_coeff=1.0", train=dict(entropy_coeff=1.0))
R("irr_ppo_terminated_as_truncated", "irr_ppo", "terminated_as_truncated",
  "env_config terminated_as_truncated=True (tank-dry terminal reported as truncated=True); traced with rldebug.run(trace='summary')",
  env_cfg=dict(terminated_as_truncated=True), traced="summary")
R("irr_ppo_obs_zeroed", "irr_ppo", "obs_zeroed", "env_config obs_zero=True (all observations are zeros); traced with rldebug.run(trace='batches')",
  env_cfg=dict(obs_zero=True), traced="batches")
# warehouse DQN
R("wh_dqn_target_never_updated", "wh_dqn", "target_never_updated", "target_network_update_freq=10**9",
  train=dict(target_network_update_freq=10**9))
R("wh_dqn_learning_never_starts", "wh_dqn", "learning_never_starts", "num_steps_sampled_before_learning_starts=10**9",
  train=dict(num_steps_sampled_before_learning_starts=10**9))
R("wh_dqn_gamma_0", "wh_dqn", "gamma_0", "gamma=0.0 (on this delayed sparse-reward env)", train=dict(gamma=0.0))
R("wh_dqn_nan_reward", "wh_dqn", "nan_reward", "env_config nan_every=300 (every 300th env step's reward is NaN)",
  env_cfg=dict(nan_every=300))
# heater SAC
R("heat_sac_lr_x100", "heat_sac", "lr_x100", "actor_lr=critic_lr=3e-2 (x100; alpha_lr unchanged)",
  train=dict(actor_lr=3e-2, critic_lr=3e-2))
R("heat_sac_target_entropy_high", "heat_sac", "target_entropy_high", "target_entropy=+5.0 (instead of auto = -1 for a 1-dim action)",
  train=dict(target_entropy=5.0))
R("heat_sac_reward_x1e-4", "heat_sac", "reward_x1e-4", "env_config reward_scale=1e-4", env_cfg=dict(reward_scale=1e-4))
R("heat_sac_obs_x1e4", "heat_sac", "obs_x1e4", "env_config obs_scale=1e4 (observations multiplied by 10000); traced with rldebug.run(trace='batches')",
  env_cfg=dict(obs_scale=1e4), traced="batches")
# fishery multi-agent PPO
R("fish_mappo_agent1_reward_x1000", "fish_mappo", "agent1_reward_x1000", "env_config agent1_reward_scale=1000 (agent1's rewards only, agent1 -> module boat1)",
  env_cfg=dict(agent1_reward_scale=1000.0), module="boat1")
R("fish_mappo_agent1_nan_reward", "fish_mappo", "agent1_nan_reward", "env_config agent1_nan_every=300 (agent1's reward NaN every 300th env step; agent1 -> module boat1)",
  env_cfg=dict(agent1_nan_every=300), module="boat1")
R("fish_mappo_modules_swap_per_episode", "fish_mappo", "modules_swap_per_episode",
  "policy_mapping_fn swaps the agents' modules every other episode (agent0->boat1, agent1->boat0 on even episodes)",
  extra=dict(policy_mapping_fn=map_swap_every_other_episode))
R("fish_mappo_reward_sign_flipped", "fish_mappo", "reward_sign_flipped", "env_config reward_sign_flip=True (both agents' rewards negated)",
  env_cfg=dict(reward_sign_flip=True))
# battery APPO
R("batt_appo_lr_div1000", "batt_appo", "lr_div1000", "lr=5e-7 (/1000)", train=dict(lr=5e-7))
R("batt_appo_reward_noise", "batt_appo", "reward_noise", "env_config reward_noise_std=1.0 (Gaussian noise added to every reward; typical |reward| ~0.1-0.4)",
  env_cfg=dict(reward_noise_std=1.0))
R("batt_appo_nan_reward_traced", "batt_appo", "nan_reward_traced", "env_config nan_every=300 (every 300th env step's reward NaN); traced with rldebug.run(trace='summary')",
  env_cfg=dict(nan_every=300), traced="summary")
R("batt_appo_reward_x1000", "batt_appo", "reward_x1000", "env_config reward_scale=1000", env_cfg=dict(reward_scale=1000.0))

ORDER = list(RUNS)
def _label_extra():
    p = os.path.join(ROOT, "base_extra.json")
    return json.load(open(p)) if os.path.exists(p) else {}


def base_text(base, seed=0):
    info = BASE_INFO[base]
    txt = info["desc"].format(seed=seed, iters=info["iters"])
    ex = _label_extra().get(base)
    if ex:
        txt += "; " + ex
    return txt


def label_for(name):
    r = RUNS[name]
    if r["op"] is None:
        made = f"healthy base, seed={r['seed']} ({base_text(r['base'], r['seed'])})"
    else:
        made = f"{r['change']}, else as healthy ({base_text(r['base'], r['seed'])})"
    return {"made": made, "operator": r["op"], "module": r["module"]}


def train_one(name, outroot):
    import ray
    register()
    r = RUNS[name]
    d = os.path.join(outroot, name)
    os.makedirs(d, exist_ok=True)
    iters = BASE_INFO[r["base"]]["iters"]
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        cfg = build_config(r["base"], r["seed"], r["env_cfg"], r["train"], r["extra"])
        if r["traced"]:
            import rldebug
            rldebug.run(cfg, logdir=d, max_iterations=iters, trace=r["traced"], progress=False)
            return
        with open(os.path.join(d, "params.json"), "w") as f:
            json.dump(cfg.to_dict(), f, default=str, indent=1)
        algo = cfg.build_algo()
        with open(os.path.join(d, "result.json"), "w") as f:
            for i in range(iters):
                res = algo.train()
                f.write(json.dumps(res, default=str) + "\n")
                f.flush()
                er = res.get("env_runners", {})
                print(name, i + 1, er.get("episode_return_mean"), er.get("agent_episode_returns_mean"),
                      round(res.get("time_total_s", 0), 1), flush=True)
        algo.stop()
    except Exception:
        tb = traceback.format_exc()
        with open(os.path.join(d, "error.txt"), "w") as f:
            f.write(tb)
        print(tb, flush=True)


def main():
    if sys.argv[1] == "one":
        name = sys.argv[2]
        outroot = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "raw_runs")
        t0 = time.time()
        train_one(name, outroot)
        print("WALL", name, round(time.time() - t0, 1), flush=True)
        os._exit(0)
    elif sys.argv[1] == "all":
        names = sys.argv[2:] or ORDER
        lp = os.path.join(ROOT, "labels.json")
        for name in names:
            d = os.path.join(ROOT, "runs", name)
            if os.path.exists(os.path.join(d, "result.json")) and os.path.getsize(os.path.join(d, "result.json")) > 0:
                continue
            labels = json.load(open(lp)) if os.path.exists(lp) else {}
            labels[name] = label_for(name)
            json.dump(labels, open(lp, "w"), indent=1)
            with open(os.path.join(ROOT, "logs", name + ".log"), "w") as lf:
                subprocess.run([PY, __file__, "one", name], stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT)


if __name__ == "__main__":
    main()
