"""Subscriber identities (IMSI, IMEI, TMSI) are never kept in clear by
default: `IdentityHasher` turns them into a keyed hash (HMAC-SHA256 with a
per-install key, truncated to 16 hex digits), so that the same phone is
recognised within and across runs of one installation but the identity cannot
be read back nor checked against a guessed IMSI without the key. Clear text
only when the hasher is made with `clear=True` or the environment sets
FBSDETECT_CLEAR_IDENTITIES=1 (an explicit user choice).

The key lives in `$FBSDETECT_KEY_FILE`, else `$XDG_DATA_HOME/fbsdetect/identity.key`
(`~/.local/share/...`), created with 32 random bytes and mode 0600 on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
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


def clear_requested() -> bool:
    """The explicit opt-in to identities in clear: FBSDETECT_CLEAR_IDENTITIES=1."""
    return os.environ.get("FBSDETECT_CLEAR_IDENTITIES", "") == "1"


@dataclass
class IdentityHasher:
    key: bytes | None = None
    clear: bool = field(default_factory=clear_requested)

    def __call__(self, kind: str, value: str) -> str:
        """'imsi:<hash>' (or 'imsi:<digits>' when clear)."""
        if self.clear:
            return f"{kind}:{value}"
        if self.key is None:
            self.key = load_key()
        h = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
        return f"{kind}:h{h}"


# --- pseudonymising identities inside stored frames ---------------------------------

def _mi_offset(l3: bytes) -> int | None:
    """Offset of the Mobile Identity LV in the phone's first message (echoed
    in the UA) or in a TMSI Reallocation Command / LU Accept, else None."""
    if len(l3) < 3:
        return None
    pd, mt = l3[0] & 0xF, l3[1] & (0xFF if l3[0] & 0xF == 6 else 0x3F)
    if pd == 6 and mt == 0x27:              # Paging Response: CKSN, classmark 2 LV, MI LV
        return 3 + 1 + l3[3] if len(l3) > 3 else None
    if pd == 5 and mt == 0x08:              # LU Request: type/CKSN, LAI(5), classmark 1, MI LV
        return 9
    if pd == 5 and mt in (0x24, 0x28):      # CM Service / Re-establishment Request
        return 3 + 1 + l3[3] if len(l3) > 3 else None
    if pd == 5 and mt == 0x01:              # IMSI Detach: classmark 1, MI LV
        return 3
    if pd == 5 and mt == 0x1A:              # TMSI Reallocation Command: LAI(5), MI LV
        return 7
    if pd == 5 and mt == 0x02 and len(l3) > 8 and l3[7] == 0x17:  # LU Accept [17 MI]
        return 8
    return None


def pseudonymise_l3(l3: bytes, key: bytes) -> bytes:
    """`l3` with its Mobile Identity replaced by a keyed pseudonym of the
    same type and length: a TMSI by 4 HMAC octets; an IMSI/IMEI keeps its
    first 5 digits (MCC and MNC: the home network) and the rest become
    HMAC-derived digits. Messages without an identity come back unchanged."""
    off = _mi_offset(l3)
    if off is None or off >= len(l3):
        return l3
    n = l3[off]
    if n < 1 or off + 1 + n > len(l3):
        return l3
    v = bytearray(l3[off + 1:off + 1 + n])
    mac = hmac.new(key, bytes(v), hashlib.sha256).digest()
    kind = v[0] & 7
    if kind == 4 and n == 5:
        v[1:5] = mac[:4]
    elif kind in (1, 2, 3):
        for i in range(3, n):  # octets from the 6th digit on
            lo, hi = mac[i] % 10, (mac[i] // 10) % 10
            filler = (v[i] >> 4) == 0xF
            v[i] = lo | ((0xF if filler else hi) << 4)
    else:
        return l3
    return l3[:off + 1] + bytes(v) + l3[off + 1 + n:]
