# ruff: noqa  -- a new user's script, kept as it was written (tests/doctor_user_runs8)
import os; os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"]="0"
import numpy as np, sys
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from user_envs8 import *
def run(env, pol, n=200):
    rets=[]; lens=[]
    for i in range(n):
        o,_=env.reset(seed=i); R=0; L=0
        while True:
            o,r,te,tr,_=env.step(pol(env,o)); R+=r; L+=1
            if te or tr: break
        rets.append(R); lens.append(L)
    return np.mean(rets), np.mean(lens)
rnd=lambda env,o: env.action_space.sample()
print("irrigation random", run(IrrigationTankEnv(), rnd))
print("irrigation heuristic", run(IrrigationTankEnv(), lambda e,o: 2 if e.level<0.45 else (1 if e.level<0.6 else 0)))
print("warehouse random", run(WarehouseRobotEnv(), rnd))
def wh(e,o):
    if not e.carrying:
        return 2 if e.pos==e.order else (1 if e.pos<e.order else 0)
    return 2 if e.pos==0 else 0
print("warehouse heuristic", run(WarehouseRobotEnv(), wh))
print("heater random", run(RoomHeaterEnv(), rnd))
def ht(e,o):
    target=(e.sp - e.T - 0.15*(e.Tout-e.T))/4.0
    return np.array([np.clip(target,0,1)*2-1])
print("heater heuristic", run(RoomHeaterEnv(), ht))
print("battery random", run(BatteryArbitrageEnv(), rnd))
print("battery heuristic", run(BatteryArbitrageEnv(), lambda e,o: 0 if e.price<0.8 else (2 if e.price>1.2 else 1)))
def ma(pol, n=200):
    env=SharedFisheryEnv(); rets=[]; lens=[]
    for i in range(n):
        o,_=env.reset(seed=i); R=0; L=0
        while True:
            o,r,te,tr,_=env.step({a:pol(env,a) for a in env.possible_agents}); R+=sum(r.values()); L+=1
            if te["__all__"] or tr["__all__"]: break
        rets.append(R); lens.append(L)
    return np.mean(rets), np.mean(lens)
print("fishery random (sum)", ma(lambda e,a: np.random.randint(3)))
print("fishery greedy 2", ma(lambda e,a: 2))
print("fishery 1", ma(lambda e,a: 1))
print("fishery threshold", ma(lambda e,a: 2 if e.S>0.55 else (1 if e.S>0.4 else 0)))
