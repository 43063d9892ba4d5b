"""Start Ray as a user would and report what listens, and whether other hosts can connect.

    python tests/ray_listeners_script.py rldebug|local|plain

``rldebug``: a real ``rldebug.run`` with one remote EnvRunner (so Ray starts a
worker and an actor). ``local``: ``rldebug.run`` of an in-process config, which
needs no Ray instance. ``plain``: ``ray.init()`` with Ray's defaults, the control.
Prints one JSON line: every listening socket of this process and its descendants,
and for each one the outcome of a TCP connection through each of this host's
non-loopback addresses.
"""

import json
import socket
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))


def other_addresses() -> list[str]:
    """This host's addresses that are not loopback (and not link-local IPv6)."""
    found = []
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                address = entry.address.split("%")[0]
                if not address.startswith(("127.", "::1", "fe80")):
                    found.append(address)
    return found


def reachable(address: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex((address, port)) == 0


def main(mode: str) -> None:
    import ray

    from rldebug.inprocess.local import ray_listeners

    if mode in ("rldebug", "local"):
        from tiny import tiny_arena_config

        import rldebug

        run = rldebug.run(tiny_arena_config(num_env_runners=int(mode == "rldebug")),
                          max_iterations=1, local=mode == "local", logdir=sys.argv[2],
                          progress=False)
        run.algo.stop()  # Ray stays up: its listeners are what a debugging session exposes
    else:
        ray.init(num_cpus=1, include_dashboard=False)
    listeners = ray_listeners()
    print(json.dumps({
        "ray_started": ray.is_initialized(),
        "listeners": listeners,
        "probes": [[address, port, reachable(address, port)]
                   for address in other_addresses() for _, _, _, port in listeners]}))
    ray.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
