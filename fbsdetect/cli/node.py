"""`fbsdetect node --config FILE`: the fixed sensor daemon;
`fbsdetect node register NAME --server URL --token ADMIN_TOKEN`: a node's credentials."""

from __future__ import annotations

import argparse

from fbsdetect.i18n import N_, _, lazy

NAME = "node"
HELP = lazy("run the fixed sensor-node daemon (or: node register NAME --server URL --token ADMIN_TOKEN)")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["run", "register"], default="run",
                   help=_("run (default): the daemon; register: ask the server for a node's credentials"))
    p.add_argument("name", nargs="?", metavar="NAME", help=_("register: the node's name"))
    p.add_argument("--config", metavar="FILE", help=_("node configuration (TOML; firmware/node.toml)"))
    p.add_argument("--drain-timeout", type=float, default=60.0, metavar="S",
                   help=_("at the end of a sim: scene, wait at most S seconds for the outbox to drain "
                          "(default 60)"))
    p.add_argument("--server", metavar="URL", help=_("register: the server's URL"))
    p.add_argument("--token", metavar="TOKEN", help=_("register: an admin token"))
    p.add_argument("--ca-file", metavar="FILE", help=_("register: CA certificate of an https server"))


def run(args: argparse.Namespace) -> int:
    from fbsdetect.errors import BadUsage

    if args.action == "register":
        if not args.name or not args.server or not args.token:
            raise BadUsage(_("usage: node register NAME --server URL --token ADMIN_TOKEN"))
        return _register(args)
    if args.name is not None:
        raise BadUsage(_("unexpected argument {arg} (node --config FILE, or node register NAME ...)").format(
            arg=repr(args.name)))
    if not args.config:
        raise BadUsage(_("node: --config FILE is required"))
    if args.drain_timeout < 0:
        raise BadUsage(_("--drain-timeout must not be negative"))
    from fbsdetect.cli._common import require_file
    from fbsdetect.node.config import load_config
    from fbsdetect.node.daemon import run_node

    require_file(args.config, N_("node config"))
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
        raise NotAvailable(_("server {url} is not reachable: {error}").format(
            url=args.server, error=exc)) from None
    if r.status_code in (401, 403):
        raise BadUsage(_("server refused the token ({status}): an admin token is needed").format(
            status=r.status_code))
    if r.status_code != 200:
        raise NotAvailable(_("server answered {status}: {text}").format(
            status=r.status_code, text=r.text[:200]))
    print(json.dumps(r.json()))
    return 0
