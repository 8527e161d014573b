"""Runs a generated app under uvicorn with two listening sockets; started by the local
deploy target with the app's own interpreter (so: standard library and uvicorn only).

``--port`` is the app's public port, bound with SO_REUSEPORT: during a redeploy the new
version binds the same port beside the old one, and the kernel sends new connections to
both until the old one stops, so no request is refused. ``--health-port`` is this
process's own: the platform health-checks the new version there before stopping the old.
The sockets start listening only once the app has started up.

Usage: python _launch.py --app FOLDER --port P --health-port H
"""

import argparse
import os
import socket
import sys

import uvicorn


def _bind(port: int, *, shared: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--health-port", type=int, required=True)
    args = parser.parse_args()
    os.chdir(args.app)  # where it finds its files (templates, static, alembic.ini)
    sys.path.insert(0, args.app)  # its package, as `python -m uvicorn` run there would
    sockets = [_bind(args.port, shared=True), _bind(args.health_port, shared=False)]
    config = uvicorn.Config(
        "app.main:app",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
