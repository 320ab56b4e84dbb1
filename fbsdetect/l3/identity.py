"""Subscriber identities (IMSI, IMEI, TMSI) are never kept in clear by
default: `IdentityHasher` turns them into a keyed hash (HMAC-SHA256 with a
per-install key, truncated to 16 hex digits), so that the same phone is
recognised within and across runs of one installation but the identity cannot
be read back nor checked against a guessed IMSI without the key. Clear text
only when the hasher is made with `clear=True` (an explicit user option).

The key lives in `$FBSDETECT_KEY_FILE`, else `$XDG_DATA_HOME/fbsdetect/identity.key`
(`~/.local/share/...`), created with 32 random bytes and mode 0600 on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def key_path() -> Path:
    env = os.environ.get("FBSDETECT_KEY_FILE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "fbsdetect" / "identity.key"


def load_key(path: Path | None = None) -> bytes:
    """The per-install key (created on first use)."""
    p = path or key_path()
    try:
        return p.read_bytes()
    except FileNotFoundError:
        p.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


@dataclass
class IdentityHasher:
    key: bytes | None = None
    clear: bool = False

    def __call__(self, kind: str, value: str) -> str:
        """'imsi:<hash>' (or 'imsi:<digits>' when clear)."""
        if self.clear:
            return f"{kind}:{value}"
        if self.key is None:
            self.key = load_key()
        h = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
        return f"{kind}:h{h}"
