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


KEY_BYTES = 32


def load_key(path: Path | None = None) -> bytes:
    """The per-install key (created on first use).

    Made whole or not at all: the key is written to a temporary file beside it, synced,
    then linked into place, so a reader never sees a half-written (or empty) key, and
    of several processes starting at once on a fresh install one key wins and every
    process uses it. A key file that is not exactly 32 bytes is refused (BadInput):
    with an empty or short key every pseudonym could be recomputed by anyone."""
    from fbsdetect.errors import BadInput
    from fbsdetect.i18n import _

    p = path or key_path()
    try:
        key = p.read_bytes()
    except FileNotFoundError:
        key = _create_key(p)
    if len(key) != KEY_BYTES:
        raise BadInput(_("the identity key holds {n} bytes, not {want}: it is damaged; move it away to make "
                         "a new one (pseudonyms then change)").format(n=len(key), want=KEY_BYTES),
                       source=str(p))
    return key


def _create_key(p: Path) -> bytes:
    import tempfile

    p.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".identity-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, p)  # fails if another process linked its key first: then that one is the key
        except FileExistsError:
            return p.read_bytes()
        return key
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)


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


def pseudonymise_l3(l3: bytes, key: bytes, *, segment: bool = False) -> bytes:
    """`l3` with its Mobile Identity replaced by a keyed pseudonym of the
    same type and length: a TMSI by 4 HMAC octets; an IMSI/IMEI keeps its
    first 5 digits (MCC and MNC: the home network) and the rest become
    HMAC-derived digits. Messages without an identity come back unchanged.

    `segment`: `l3` is only the first segment of a longer message (a LAPDm frame
    with the M bit set, TS 44.006 5.8.4: an LU Accept with an Equivalent PLMNs
    list, say), so an identity that runs past its end is cut off there; what of
    it the segment holds becomes 0x2B fill rather than stay in clear."""
    off = _mi_offset(l3)
    if off is None or off >= len(l3):
        return l3
    n = l3[off]
    if n < 1 or off + 1 + n > len(l3):
        if segment and off + 1 < len(l3):
            return l3[:off + 1] + b"\x2b" * (len(l3) - off - 1)
        return l3
    v = _pseudo_mi(l3[off + 1:off + 1 + n], key)
    if v is None:
        return l3
    return l3[:off + 1] + v + l3[off + 1 + n:]


def _pseudo_mi(value: bytes, key: bytes) -> bytes | None:
    """A Mobile Identity value (TS 24.008 10.5.1.4) replaced by its keyed pseudonym
    (see `pseudonymise_l3`); None when it holds no identity to replace."""
    v = bytearray(value)
    n = len(v)
    if n < 1:
        return None
    mac = hmac.new(key, bytes(v), hashlib.sha256).digest()
    kind = v[0] & 7
    if kind == 4 and n == 5:
        v[1:5] = mac[:4]
    elif kind in (1, 2, 3):
        for i in range(3, n):  # octets from the 6th digit on
            lo, hi = mac[i % len(mac)] % 10, (mac[i % len(mac)] // 10) % 10
            filler = (v[i] >> 4) == 0xF
            v[i] = lo | ((0xF if filler else hi) << 4)
    else:
        return None
    return bytes(v)


def _pseudo_tmsi(t: bytes, key: bytes) -> bytes:
    return hmac.new(key, b"tmsi" + t, hashlib.sha256).digest()[:4]


def _blank(frame: bytes) -> bytes:
    """`frame` with every octet after the message type replaced by the 0x2B fill."""
    return bytes(frame[:3]) + b"\x2b" * max(0, len(frame) - 3)


def pseudonymise_paging(frame: bytes, key: bytes) -> bytes:
    """A CCCH Paging Request (types 1-3, TS 44.018 9.1.22-9.1.24) with every paged
    identity replaced by its keyed pseudonym of the same type and length (the
    paging rules count pages and IMSI vs TMSI; who was paged is not stored).
    TMSIs of the "no identity" filler (0xFFFFFFFF) stay. A frame that is not a
    well-formed paging request (`sysinfo.paging.parse` says Malformed: the sender
    chooses these octets) keeps only its first three octets (pseudo length, PD,
    message type); the rest becomes 0x2B fill, so no identity octet of it is kept."""
    from fbsdetect.sysinfo.paging import PagingRequest, parse

    if not isinstance(parse(bytes(frame)), PagingRequest):
        return _blank(frame)
    mt = frame[2]
    plen = frame[0] >> 2
    end = min(len(frame), 1 + plen)
    b = bytearray(frame)

    def tlv(pos: int) -> None:
        if pos + 2 <= end and b[pos] == 0x17:
            n = b[pos + 1]
            if pos + 2 + n <= end:
                v = _pseudo_mi(bytes(b[pos + 2:pos + 2 + n]), key)
                if v is not None:
                    b[pos + 2:pos + 2 + n] = v

    def tmsi(pos: int) -> None:
        t = bytes(b[pos:pos + 4])
        if len(t) == 4 and t != b"\xff\xff\xff\xff":
            b[pos:pos + 4] = _pseudo_tmsi(t, key)

    if mt == 0x21:  # P1: MI LV, [0x17 MI]
        n = b[4]
        if 5 + n <= end:
            v = _pseudo_mi(bytes(b[5:5 + n]), key)
            if v is not None:
                b[5:5 + n] = v
            tlv(5 + n)
    elif mt == 0x22 and end >= 12:  # P2: TMSI, TMSI, [0x17 MI]
        tmsi(4)
        tmsi(8)
        tlv(12)
    elif mt == 0x24 and len(frame) >= 20:  # P3: four TMSIs
        for k in range(4):
            tmsi(4 + 4 * k)
    return bytes(b)
