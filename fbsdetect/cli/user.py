"""`fbsdetect user add NAME --role investigator|admin --db URL`: a server user and its token."""

from __future__ import annotations

import argparse

from fbsdetect.i18n import _, lazy

NAME = "user"
HELP = lazy("add a user of the central server (investigator or admin) and print its token")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["add"], help=_("add: create the user, print {user, token}"))
    p.add_argument("name", metavar="NAME", help=_("user name"))
    p.add_argument("--role", required=True, choices=["investigator", "admin"],
                   help=_("investigator or admin"))


def run(args: argparse.Namespace) -> int:
    import json

    from fbsdetect.server.auth import add_user
    from fbsdetect.store import open_store, url_from_args

    store = open_store(url_from_args(args))
    try:
        token = add_user(store, args.name, args.role)
    finally:
        store.close()
    print(json.dumps({"user": args.name, "token": token}))
    return 0
