"""Credentials of the central server: bearer tokens (users and nodes), roles,
the node registry and the Mosquitto password/ACL files made from it.

- Tokens are 32 random bytes (URL-safe base64); only their SHA-256 is stored,
  so a copy of the database gives no one a working token.
- Roles: `node` (writes only its own records), `investigator` (reads, exports),
  `admin` (nodes, users; can also read).
- MQTT: each node gets a broker user named like the node and a random
  password; the server keeps only the password-file hash (mosquitto_passwd's
  `$7$` PBKDF2-SHA512 form, which Mosquitto 2 reads). `write_mosquitto_files`
  writes `passwd` (every enabled node + the server's ingest user) and `acl`
  (a node may publish only below `fbsdetect/v1/<its name>/`, read nothing;
  the ingest user reads `fbsdetect/v1/#`). Mosquitto re-reads both on SIGHUP.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fbsdetect.errors import BadUsage
from fbsdetect.i18n import _

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ROLES = ("node", "investigator", "admin")
USER_ROLES = ("investigator", "admin")
INGEST_USER = "fbsdetect-ingest"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = 101) -> str:
    """The password-file hash Mosquitto 2 writes with `mosquitto_passwd` ($7$: PBKDF2-SHA512)."""
    salt = salt if salt is not None else os.urandom(12)
    dk = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"


def check_name(name: str, what: str = "node") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        msg = _("user name {name}: 1-64 characters of A-Z a-z 0-9 _ . - (starting with a letter or digit)") \
            if what == "user" else \
            _("node name {name}: 1-64 characters of A-Z a-z 0-9 _ . - (starting with a letter or digit)")
        raise BadUsage(msg.format(name=repr(name)))
    if what == "node" and name == INGEST_USER:  # the server's own broker account (reads every topic)
        raise BadUsage(_("node name {name}: reserved for the server's MQTT ingest").format(name=repr(name)))
    return name


@dataclass(frozen=True)
class Principal:
    """Who a bearer token belongs to."""

    name: str
    role: str  # node | investigator | admin
    node_id: int | None = None
    sensor_id: int | None = None
    run_id: int | None = None


def add_user(store: Any, name: str, role: str) -> str:
    """Creates a user; returns its token (shown once)."""
    from fbsdetect.store.models import FleetUser

    check_name(name, "user")
    if role not in USER_ROLES:
        raise BadUsage(_("--role {role}: one of {roles}").format(
            role=repr(role), roles=", ".join(USER_ROLES)))
    token = new_token()
    with store.session() as s:
        if s.scalars(select(FleetUser).where(FleetUser.name == name)).first() is not None:
            raise BadUsage(_("user {name} exists already").format(name=repr(name)))
        s.add(FleetUser(name=name, role=role, token_hash=token_hash(token)))
    return token


def register_node(store: Any, name: str) -> dict[str, str]:
    """Registers a node (its sensor row and server-side scan run too); returns its
    credentials {node, token, mqtt_username, mqtt_password} (shown once). Registering
    an existing name issues new credentials (the old ones stop working)."""
    from fbsdetect import __version__
    from fbsdetect.store.models import FleetNode, ScanRun
    from fbsdetect.store.sink import get_or_create_sensor

    check_name(name)
    token, password = new_token(), secrets.token_urlsafe(24)
    with store.session() as s:
        node = s.scalars(select(FleetNode).where(FleetNode.name == name)).first()
        if node is None:
            sensor = get_or_create_sensor(s, name, "node")
            run = ScanRun(sensor_id=sensor.id, source=f"fleet:{name}", profile=None,
                          software_version=__version__, started_at=datetime.now(UTC), learn=False,
                          config={"fleet": True})
            s.add(run)
            s.flush()
            node = FleetNode(name=name, sensor_id=sensor.id, run_id=run.id, token_hash="",
                             mqtt_username=name, mqtt_password_hash="")
            s.add(node)
        node.token_hash = token_hash(token)
        node.mqtt_password_hash = mosquitto_hash(password)
        node.enabled = True
    return {"node": name, "token": token, "mqtt_username": name, "mqtt_password": password}


def lookup(store: Any, token: str) -> Principal | None:
    """The principal of a bearer token, or None."""
    from fbsdetect.store.models import FleetNode, FleetUser

    h = token_hash(token)
    with store.engine.connect() as c:  # Core, not a session: the server looks tokens up often
        u = c.execute(select(FleetUser.name, FleetUser.role).where(FleetUser.token_hash == h)).first()
        if u is not None:
            return Principal(u.name, u.role)
        n = c.execute(select(FleetNode.name, FleetNode.id, FleetNode.sensor_id, FleetNode.run_id).where(
            FleetNode.token_hash == h, FleetNode.enabled.is_(True))).first()
        if n is not None:
            return Principal(n.name, "node", n.id, n.sensor_id, n.run_id)
    return None


def node_principal(store: Any, name: str) -> Principal | None:
    """The principal of a registered, enabled node by name (the MQTT worker: the broker authenticated it)."""
    from fbsdetect.store.models import FleetNode

    with store.session() as s:
        n = s.scalars(select(FleetNode).where(FleetNode.name == name, FleetNode.enabled.is_(True))).first()
        return Principal(n.name, "node", n.id, n.sensor_id, n.run_id) if n is not None else None


def write_mosquitto_files(store: Any, directory: str | os.PathLike[str], *,
                          ingest_password: str) -> dict[str, str]:
    """Writes `passwd` and `acl` for Mosquitto into `directory` (atomically, mode 0600/0644)."""
    from fbsdetect.store.models import FleetNode

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with store.session() as s:
        nodes = [(n.mqtt_username, n.mqtt_password_hash) for n in
                 s.scalars(select(FleetNode).where(FleetNode.enabled.is_(True)).order_by(FleetNode.name))]
    if any(u == INGEST_USER for u, _h in nodes):  # registered before the name was reserved
        log.warning("node %s left out of the broker's passwd: the name is the server's ingest account",
                    INGEST_USER)
    lines = [f"{INGEST_USER}:{mosquitto_hash(ingest_password)}"] + [f"{u}:{h}" for u, h in nodes
                                                                    if h and u != INGEST_USER]
    acl = ["# written by fbsdetect serve from the node registry: do not edit",
           f"user {INGEST_USER}", "topic read fbsdetect/v1/#", "",
           "# every node: publish below its own name only, read nothing",
           "pattern write fbsdetect/v1/%u/#", ""]
    out = {}
    import grp
    import shutil

    try:  # Mosquitto drops root for the user "mosquitto": let its group read the files
        group: str | None = grp.getgrnam("mosquitto").gr_name
    except KeyError:
        group = None
    for fname, text, mode in (("passwd", "\n".join(lines) + "\n", 0o640), ("acl", "\n".join(acl), 0o644)):
        tmp = d / (fname + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, mode)
        if group is not None:
            try:
                shutil.chown(tmp, group=group)
            except OSError:
                pass
        os.replace(tmp, d / fname)
        out[fname] = str(d / fname)
    return out


MOSQUITTO_CONF = """# Mosquitto for fbsdetect (written by fbsdetect serve --mosquitto-dir)
per_listener_settings false
allow_anonymous false
password_file {dir}/passwd
acl_file {dir}/acl
persistence true
persistence_location {dir}/
autosave_interval 10
max_inflight_messages 200
max_queued_messages 1000000
listener {port} {host}
{user}"""


def mosquitto_conf(directory: str | os.PathLike[str], *, port: int = 1883, host: str = "127.0.0.1",
                   user: str | None = None) -> str:
    """mosquitto.conf for the files above (`user`: the account Mosquitto runs as when started as root)."""
    return MOSQUITTO_CONF.format(dir=str(Path(directory).resolve()), port=port, host=host,
                                 user=f"user {user}\n" if user else "")
