"""Debugging in the IDE: train in one process and stop exactly when an RL event happens.

``rldebug.local_mode`` keeps the env, the RLModule, the loss and callbacks in this
process, so breakpoints set in VS Code or PyCharm are hit (use the run
configuration "recipe: debug_in_ide" from .vscode/launch.json or .idea/).
``break_on`` adds breakpoints on RL events: here agent1's first collision and
any NaN/Inf (with ``--smoke``, agent1's first new field: a random policy rarely
collides in one short iteration). Under a debugger (or at a terminal) it stops in a frame whose
locals are ``episode``, ``agent_id``, ``obs``, ``action``, ``reward``, ``info``;
unattended (CI, a pipe) it logs the event instead of blocking.

    python recipes/debug_in_ide.py [--smoke] [--mode auto|break|log]
"""

import argparse

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.ide import break_on, break_records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 iteration")
    parser.add_argument("--mode", choices=["auto", "break", "log"], default="auto",
                        help="auto: stop under a debugger or at a terminal, else log")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    config = rldebug.arena_ppo_config(seed=0, **(SMOKE_SETTINGS if args.smoke else {}))
    config = rldebug.local_mode(config)
    event = "new_field" if args.smoke else "collision"
    config = break_on(config, events=[event], agent_ids=["agent1"], non_finite=True,
                      max_stops=1, mode=args.mode)
    run = rldebug.run(config, stop={"training_iteration": 1 if args.smoke else 5},
                      logdir=args.logdir, progress=not args.smoke)
    run.algo.stop()

    events = break_records()
    print(f"break_on caught {len(events)} event(s) in this process")
    for event in events[:3]:
        print(f"  {event.reason} (agent {event.agent_id}, env step {event.env_step}, "
              f"reward {event.reward}, stopped: {event.stopped})")
    # The check: the event happened, and every record is agent1's (the filter held).
    if not events or any(e.agent_id != "agent1" for e in events):
        raise SystemExit(f"expected agent1's {event} events, got {len(events)}: "
                         f"{[(e.reason, e.agent_id) for e in events[:5]]}")
    print(f"done: {len(events)} event(s), the first at env step {events[0].env_step}")
    return events


if __name__ == "__main__":
    main()
