"""A TCP port forward, one end of what ``ssh -N -L PORT:127.0.0.1:PORT NODE`` sets up.

``python tests/port_forward.py LISTEN_HOST LISTEN_PORT TO_HOST TO_PORT`` accepts on
``LISTEN_HOST:LISTEN_PORT`` and relays each connection to ``TO_HOST:TO_PORT`` both ways.
tests/test_cluster_attach.py runs two of them where ssh would have its two ends: one on
the IDE's side (127.0.0.1 of the driver's network) and one on the worker node (reaching
that node's own 127.0.0.1, as sshd does there); this machine has no sshd.
"""

import socket
import sys
import threading


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main() -> None:
    listen_host, listen_port, to_host, to_port = sys.argv[1:5]
    server = socket.create_server((listen_host, int(listen_port)))
    print(f"forwarding {listen_host}:{listen_port} -> {to_host}:{to_port}", flush=True)
    while True:
        incoming, _ = server.accept()
        outgoing = socket.create_connection((to_host, int(to_port)), timeout=30)
        outgoing.settimeout(None)
        for a, b in ((incoming, outgoing), (outgoing, incoming)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
