"""SMS on a dedicated channel, network to phone: CP-DATA (TS 24.011 7.2) ->
RP-DATA (TS 24.011 7.3.1.1) -> SMS-DELIVER (TS 23.040 9.2.2.1), decode and
build, plus reassembly of concatenated messages (UDH IE 0x00 / 0x08).

pycrate has codecs for all three (pycrate_mobile.TS24011_PPSMS, TS23040_SMS),
but they are not used for parsing: they raise on much malformed input where a
receiver must count and go on (a truncated TPDU: CharpyErr), they are ~70x
slower than these few fixed fields (measured: 1.7 ms vs 24 us per UCS2
SMS-DELIVER), and pycrate's `decode_7b` guesses (strips a trailing '@' as padding)
instead of using the septet count of TP-UDL. The GSM 7-bit default alphabet
and its extension table are pycrate's (TS 23.038 6.2.1, `_GSM7bLUT`); the
septet packing here is our own. tshark cross-checks what `build_*` makes
(tests/l3).

Layouts::

    CP-DATA   TI:4 PD=9 | 0x01 | CP-User-Data: LI + RPDU
    RP-DATA   MTI=1 (n->ms) | MR | RP-OA: LI, TON/NPI, BCD | RP-DA: LI=0 | RP-UD: LI + TPDU
    DELIVER   RP:1 UDHI:1 SRI:1 0 0 MMS:1 MTI=00 | TP-OA: #digits, TON/NPI, semi-octets
              | PID | DCS | SCTS (7 octets, swapped BCD, TZ in quarter hours) | UDL | UD
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from pycrate_mobile.TS23038 import _GSM7bExtLUT, _GSM7bLUT

PD_SMS = 0x9
CP_DATA, CP_ACK, CP_ERROR = 0x01, 0x04, 0x10
RP_DATA_N2MS = 0x01

_DEC = [_GSM7bLUT[i] for i in range(128)]
_ENC = {ch: i for i, ch in enumerate(_DEC)}
_ENC_EXT = {ch: i for i, ch in _GSM7bExtLUT.items() if i != 27}
_DEC_EXT = {i: ch for i, ch in _GSM7bExtLUT.items()}


class SmsError(ValueError):
    """Internal: a malformed SMS layer; callers count it."""


@dataclass(frozen=True)
class SmsDeliver:
    sender: str             # TP-OA digits (a leading '+' for international) or alphanumeric text
    sender_ton: int
    smsc: str               # RP-OA
    scts: datetime | None   # service centre time stamp (tz-aware)
    dcs: int
    encoding: str           # "gsm7" | "ucs2" | "8bit"
    text: str               # this part's text (8-bit data as hex)
    concat: tuple[int, int, int] | None   # (reference, total, sequence 1..)
    pid: int = 0


# --- GSM 7-bit ---------------------------------------------------------------------

def gsm7_septets(text: str) -> list[int]:
    """Septets of `text` in the default alphabet (+ extension); SmsError if not encodable."""
    out: list[int] = []
    for ch in text:
        if ch in _ENC:
            out.append(_ENC[ch])
        elif ch in _ENC_EXT:
            out += [27, _ENC_EXT[ch]]
        else:
            raise SmsError(f"character {ch!r} is not in the GSM 7-bit alphabet")
    return out


def gsm7_encodable(text: str) -> bool:
    return all(ch in _ENC or ch in _ENC_EXT for ch in text)


def pack7(septets: list[int], fill_bits: int = 0) -> bytes:
    acc, nbits, out = 0, fill_bits, bytearray()
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack7(data: bytes, n: int, fill_bits: int = 0) -> list[int]:
    v = int.from_bytes(data, "little")
    if fill_bits + 7 * n > 8 * len(data):
        raise SmsError("user data shorter than TP-UDL")
    return [(v >> (fill_bits + 7 * i)) & 0x7F for i in range(n)]


def gsm7_text(septets: list[int]) -> str:
    out, esc = [], False
    for s in septets:
        if esc:
            out.append(_DEC_EXT.get(s, " "))
            esc = False
        elif s == 27:
            esc = True
        else:
            out.append(_DEC[s])
    return "".join(out)


# --- addresses and time stamps ------------------------------------------------------

def _bcd(data: bytes, ndigits: int) -> str:
    digits = []
    for b in data:
        for nib in (b & 0xF, b >> 4):
            digits.append("0123456789*#abc"[nib] if nib < 15 else "")
    return "".join(digits)[:ndigits]


def _enc_bcd(digits: str) -> bytes:
    m = {c: i for i, c in enumerate("0123456789*#abc")}
    nibs = [m[c] for c in digits] + ([15] if len(digits) % 2 else [])
    return bytes(nibs[i] | (nibs[i + 1] << 4) for i in range(0, len(nibs), 2))


def decode_tp_address(data: bytes, off: int) -> tuple[str, int, int]:
    """(address, TON, next offset) of a TS 23.040 9.1.2.5 address at `off`."""
    if off + 2 > len(data):
        raise SmsError("address truncated")
    ndig, toa = data[off], data[off + 1]
    if ndig > 20:
        raise SmsError(f"address of {ndig} digits")
    nb = (ndig + 1) // 2
    if off + 2 + nb > len(data):
        raise SmsError("address truncated")
    raw = data[off + 2:off + 2 + nb]
    ton = (toa >> 4) & 7
    if ton == 5:  # alphanumeric, GSM 7-bit packed: ndig semi-octets
        addr = gsm7_text(unpack7(raw, ndig * 4 // 7))
    else:
        addr = _bcd(raw, ndig)
        if ton == 1:
            addr = "+" + addr
    return addr, ton, off + 2 + nb


def encode_tp_address(addr: str) -> bytes:
    if addr.startswith("+") and addr[1:].isdigit():
        return bytes([len(addr) - 1, 0x91]) + _enc_bcd(addr[1:])
    if addr.isdigit():
        return bytes([len(addr), 0x81]) + _enc_bcd(addr)
    sept = gsm7_septets(addr)
    packed = pack7(sept)
    return bytes([(len(sept) * 7 + 3) // 4, 0xD0]) + packed


def _swap(b: int) -> int:
    lo, hi = b & 0xF, b >> 4
    if lo > 9 or hi > 9:
        raise SmsError("time stamp not BCD")
    return lo * 10 + hi


def decode_scts(b: bytes) -> datetime | None:
    try:
        y, mo, d, h, mi, s = (_swap(x) for x in b[:6])
        tzb = b[6]
        q = (tzb & 0x7) * 10 + (tzb >> 4)
        if tzb & 0x8:
            q = -q
        return datetime(2000 + y, mo, d, h, mi, s, tzinfo=timezone(timedelta(minutes=15 * q)))
    except (SmsError, ValueError):
        return None


def encode_scts(t: datetime) -> bytes:
    off = t.utcoffset() or timedelta(0)
    q = int(off.total_seconds() // 900)

    def sw(v: int) -> int:
        return ((v % 10) << 4) | (v // 10)

    tz = sw(abs(q))
    if q < 0:
        tz |= 0x08
    return bytes([sw(t.year % 100), sw(t.month), sw(t.day), sw(t.hour), sw(t.minute), sw(t.second), tz])


# --- TPDU ---------------------------------------------------------------------------

def dcs_alphabet(dcs: int) -> str:
    g = dcs >> 4
    if g <= 0x7:              # general data coding (00xx, 01xx automatic deletion)
        if dcs & 0x20:
            return "compressed"
        return ("gsm7", "8bit", "ucs2", "reserved")[(dcs >> 2) & 3]
    if g in (0xC, 0xD):
        return "gsm7"
    if g == 0xE:
        return "ucs2"
    if g == 0xF:
        return "8bit" if dcs & 0x4 else "gsm7"
    return "reserved"


def parse_deliver(tpdu: bytes, smsc: str = "") -> SmsDeliver:
    if len(tpdu) < 2:
        raise SmsError("TPDU too short")
    first = tpdu[0]
    if first & 3 != 0:
        raise SmsError(f"not an SMS-DELIVER (TP-MTI {first & 3})")
    udhi = bool(first & 0x40)
    sender, ton, off = decode_tp_address(tpdu, 1)
    if off + 10 > len(tpdu):
        raise SmsError("TPDU truncated before TP-UDL")
    pid, dcs = tpdu[off], tpdu[off + 1]
    scts = decode_scts(tpdu[off + 2:off + 9])
    udl = tpdu[off + 9]
    ud = tpdu[off + 10:]
    enc = dcs_alphabet(dcs)
    concat = None
    udh_len = 0
    if udhi:
        if not ud:
            raise SmsError("UDHI set, no header")
        udh_len = ud[0] + 1
        if udh_len > len(ud):
            raise SmsError("UDH longer than the user data")
        concat = _concat_ie(ud[1:udh_len])
    if enc == "gsm7":
        if udl > 160:
            raise SmsError(f"TP-UDL {udl} septets")
        hdr_septets = (udh_len * 8 + 6) // 7
        fill = hdr_septets * 7 - udh_len * 8
        if udl < hdr_septets:
            raise SmsError("TP-UDL shorter than the header")
        text = gsm7_text(unpack7(ud[udh_len:], udl - hdr_septets, fill)) if udl > hdr_septets else ""
    else:
        if udl > 140 or udl > len(ud) or udl < udh_len:
            raise SmsError(f"TP-UDL {udl} octets with {len(ud)} present")
        body = ud[udh_len:udl]
        if enc == "ucs2":
            if len(body) % 2:
                body = body[:-1]
            text = body.decode("utf-16-be", errors="replace")
        else:
            text = body.hex()
    return SmsDeliver(sender, ton, smsc, scts, dcs, enc if enc in ("gsm7", "ucs2") else "8bit", text,
                      concat, pid)


def _concat_ie(h: bytes) -> tuple[int, int, int] | None:
    i = 0
    while i + 2 <= len(h):
        iei, ln = h[i], h[i + 1]
        v = h[i + 2:i + 2 + ln]
        if iei == 0x00 and ln == 3 and len(v) == 3:
            return v[0], v[1], v[2]
        if iei == 0x08 and ln == 4 and len(v) == 4:
            return (v[0] << 8) | v[1], v[2], v[3]
        i += 2 + ln
    return None


def build_deliver(sender: str, text: str, encoding: str, scts: datetime, *,
                  concat: tuple[int, int, int] | None = None) -> bytes:
    udh = b""
    if concat:
        udh = bytes([5, 0x00, 3, concat[0] & 0xFF, concat[1], concat[2]])
    first = 0x04 | (0x40 if udh else 0)  # TP-MMS: no more messages waiting
    head = bytes([first]) + encode_tp_address(sender) + bytes([0x00, 0x08 if encoding == "ucs2" else 0x00])
    head += encode_scts(scts)
    if encoding == "ucs2":
        body = udh + text.encode("utf-16-be")
        if len(body) > 140:
            raise SmsError("UCS2 part longer than 140 octets")
        return head + bytes([len(body)]) + body
    sept = gsm7_septets(text)
    hs = (len(udh) * 8 + 6) // 7
    fill = hs * 7 - len(udh) * 8
    if hs + len(sept) > 160:
        raise SmsError("GSM 7-bit part longer than 160 septets")
    return head + bytes([hs + len(sept)]) + udh + pack7(sept, fill)


def split_text(text: str, encoding: str) -> list[str]:
    """Parts of a text: one if it fits (70 UCS2 / 160 GSM7), else 67 / 153 per part."""
    if encoding == "ucs2":
        units = text.encode("utf-16-be")
        if len(units) <= 140:
            return [text]
        parts, cur = [], ""
        for ch in text:
            if len((cur + ch).encode("utf-16-be")) > 134:
                parts.append(cur)
                cur = ""
            cur += ch
        return [*parts, cur]
    if len(gsm7_septets(text)) <= 160:
        return [text]
    parts, cur, n = [], "", 0
    for ch in text:
        w = len(gsm7_septets(ch))
        if n + w > 153:
            parts.append(cur)
            cur, n = "", 0
        cur += ch
        n += w
    return [*parts, cur]


def build_rp_data(tpdu: bytes, mr: int, smsc: str) -> bytes:
    oa = encode_tp_address(smsc)  # RP address: LI counts octets, not digits
    rp_oa = bytes([len(oa) - 1]) + oa[1:]
    return bytes([RP_DATA_N2MS, mr & 0xFF]) + rp_oa + b"\x00" + bytes([len(tpdu)]) + tpdu


def build_cp_data(rpdu: bytes, ti: int = 0) -> bytes:
    return bytes([((ti & 0xF) << 4) | PD_SMS, CP_DATA, len(rpdu)]) + rpdu


def parse_cp(l3: bytes) -> tuple[str, SmsDeliver | None]:
    """(CP message name, the SMS-DELIVER inside a CP-DATA / RP-DATA) of a
    PD-9 layer-3 message; SmsError when malformed."""
    if len(l3) < 2 or l3[0] & 0xF != PD_SMS:
        raise SmsError("not an SMS CP message")
    mt = l3[1]
    if mt == CP_ACK:
        return "CP-ACK", None
    if mt == CP_ERROR:
        return "CP-ERROR", None
    if mt != CP_DATA:
        raise SmsError(f"unknown CP message type 0x{mt:02x}")
    if len(l3) < 3 or l3[2] + 3 > len(l3):
        raise SmsError("CP-User data truncated")
    rp = l3[3:3 + l3[2]]
    if len(rp) < 2:
        raise SmsError("RPDU too short")
    mti = rp[0] & 7
    if mti != RP_DATA_N2MS:
        return {0: "RP-DATA(ms->n)", 2: "RP-ACK", 3: "RP-ACK", 4: "RP-ERROR", 5: "RP-ERROR",
                6: "RP-SMMA"}.get(mti, "RP-?"), None
    off = 2
    if off >= len(rp) or off + 1 + rp[off] > len(rp):
        raise SmsError("RP-OA truncated")
    n = rp[off]
    smsc = ""
    if n >= 1:
        toa = rp[off + 1]
        smsc = _bcd(rp[off + 2:off + 1 + n], 2 * (n - 1))
        if (toa >> 4) & 7 == 1:
            smsc = "+" + smsc
    off += 1 + n
    if off >= len(rp):
        raise SmsError("RP-DA missing")
    off += 1 + rp[off]
    if off >= len(rp) or off + 1 + rp[off] > len(rp):
        raise SmsError("RP-User data truncated")
    tpdu = rp[off + 1:off + 1 + rp[off]]
    return "CP-DATA", parse_deliver(tpdu, smsc)


@dataclass
class Concatenator:
    """Joins the parts of concatenated messages (by sender, reference, total).
    `push` returns complete messages: (first part, joined text, parts)."""

    _parts: dict[tuple[str, int, int], dict[int, SmsDeliver]] | None = None

    def push(self, m: SmsDeliver) -> list[tuple[SmsDeliver, str, int]]:
        if m.concat is None or m.concat[1] <= 1:
            return [(m, m.text, 1)]
        if self._parts is None:
            self._parts = {}
        ref, total, seq = m.concat
        key = (m.sender, ref, total)
        got = self._parts.setdefault(key, {})
        got[seq] = m
        if len(got) < total or any(i not in got for i in range(1, total + 1)):
            return []
        del self._parts[key]
        return [(got[1], "".join(got[i].text for i in range(1, total + 1)), total)]

    def pending(self) -> list[tuple[SmsDeliver, str, int]]:
        """Incomplete messages, the parts present joined (at the end of a run)."""
        out = []
        for got in (self._parts or {}).values():
            first = got[min(got)]
            out.append((first, "".join(got[i].text for i in sorted(got)), len(got)))
        self._parts = {}
        return out


def now_utc() -> datetime:
    return datetime.now(UTC)
