"""`fbsdetect node --config FILE`: the fixed sensor daemon;
`fbsdetect node register NAME --server URL --token ADMIN_TOKEN`: a node's credentials."""

from __future__ import annotations

import argparse

NAME = "node"
HELP = "run the fixed sensor-node daemon (or: node register NAME --server URL --token ADMIN_TOKEN)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["run", "register"], default="run",
                   help="run (default): the daemon; register: ask the server for a node's credentials")
    p.add_argument("name", nargs="?", metavar="NAME", help="register: the node's name")
    p.add_argument("--config", metavar="FILE", help="node configuration (TOML; firmware/node.toml)")
    p.add_argument("--drain-timeout", type=float, default=60.0, metavar="S",
                   help="at the end of a sim: scene, wait at most S seconds for the outbox to drain "
                        "(default 60)")
    p.add_argument("--server", metavar="URL", help="register: the server's URL")
    p.add_argument("--token", metavar="TOKEN", help="register: an admin token")
    p.add_argument("--ca-file", metavar="FILE", help="register: CA certificate of an https server")


def run(args: argparse.Namespace) -> int:
    from fbsdetect.errors import BadUsage

    if args.action == "register":
        if not args.name or not args.server or not args.token:
            raise BadUsage("node register NAME --server URL --token ADMIN_TOKEN")
        return _register(args)
    if args.name is not None:
        raise BadUsage(f"unexpected argument {args.name!r} (node --config FILE, or node register NAME ...)")
    if not args.config:
        raise BadUsage("node: --config FILE is required")
    if args.drain_timeout < 0:
        raise BadUsage("--drain-timeout must not be negative")
    from fbsdetect.cli._common import require_file
    from fbsdetect.node.config import load_config
    from fbsdetect.node.daemon import run_node

    require_file(args.config, "node config")
    return run_node(load_config(args.config), drain_timeout_s=args.drain_timeout)


def _register(args: argparse.Namespace) -> int:
    import json

    import httpx

    from fbsdetect.errors import BadUsage, NotAvailable
    from fbsdetect.server.auth import check_name

    check_name(args.name)
    try:
        r = httpx.post(args.server.rstrip("/") + "/api/v1/nodes", json={"name": args.name},
                       headers={"Authorization": f"Bearer {args.token}"}, timeout=30,
                       verify=args.ca_file if args.ca_file else True)
    except httpx.HTTPError as exc:
        raise NotAvailable(f"server {args.server} is not reachable: {exc}") from None
    if r.status_code in (401, 403):
        raise BadUsage(f"server refused the token ({r.status_code}): an admin token is needed")
    if r.status_code != 200:
        raise NotAvailable(f"server answered {r.status_code}: {r.text[:200]}")
    print(json.dumps(r.json()))
    return 0
