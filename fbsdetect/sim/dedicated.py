"""What a simulated cell says on its dedicated channels (scene keys of
contracts.md section 3: `dedicated`, `ciphering`, `identity_request`,
`lu_reject_cause`, `phones_per_min`, `[[cell.sms]]`, and `sms_from_dataset`).

Simulated phones come to the cell: each gets an Immediate Assignment (TS 44.018
9.1.18) on a CCCH block, then a conversation on a free SDCCH/8 sub-channel of
TS1 (`dedicated = "sdcch8"`) or SDCCH/4 sub-channel of a combined TS0
(`"sdcch4"`), one downlink block per 51-multiframe from the next multiframe
on, and its SACCH (L1 header + SI5 in a UI frame). Downlink only, as a
receiver hears it:

- a phone (Poisson, `phones_per_min`): UA echoing its Location Updating
  Request (contention resolution, TS 44.006 5.4.1.4); with `ciphering`:
  Authentication Request, Ciphering Mode Command (A5/1), then ciphered blocks
  (random payload bits: they fail the CRC for a receiver without the key, as
  real ciphered bursts do); else Identity Request (`identity_request`) and
  Location Updating Reject (`lu_reject_cause`, 0 = Accept), Channel Release;
- an SMS (`[[cell.sms]]`, or `sms_from_dataset = N` texts drawn from the FBS
  spam SMS dataset): UA echoing a Paging Response, SABM on SAPI 3, the CP-DATA
  (TS 24.011) -> RP-DATA -> SMS-DELIVER (TS 23.040) of each part in LAPDm I
  frames, Channel Release (the same after Authentication + Ciphering when the
  cell ciphers: then the SMS is in ciphered blocks and cannot be read).

Fill frames (UI, empty) stand for the phone's turns. Everything random is
seeded by (scene seed, cell, conversation): same seed, same bytes. A cell
without any of these keys has no schedule at all and renders exactly as
before.

Dataset: FBS Spam SMS Dataset, Zhang et al., "Lies in the Air: Characterizing
Fake-base-station Spam Ecosystem in China", ACM CCS 2020 (doi
10.1145/3372297.3417257), repository Cypher-Z/FBS_SMS_Dataset; read from
`$FBSDETECT_SHARED_DATA/fbs_sms/fbs_sms_train.jsonl` (default
../shared/data next to the project). Its texts are word-segmented; the
spaces around CJK characters are removed (real messages are not segmented).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.errors import BadInput
from fbsdetect.gsm import dedicated as ded
from fbsdetect.i18n import _
from fbsdetect.l3 import lapdm, messages
from fbsdetect.l3 import sms as smsmod

DEDICATED_KEYS = ("dedicated", "ciphering", "identity_request", "lu_reject_cause", "phones_per_min",
                  "sms", "sms_from_dataset")
DEDICATED_MODES = ("sdcch8", "sdcch4", "none")
IDENTITY_KINDS = ("none", "imsi", "imei")
SMS_KEYS = ("at_s", "sender", "text", "encoding")
DATASET_SENDERS = ("95588", "95533", "95599", "95555", "95566", "10086", "10010", "1069012345")
DATASET_CITATION = ("FBS Spam SMS Dataset, Zhang et al., 'Lies in the Air: Characterizing "
                    "Fake-base-station Spam Ecosystem in China', ACM CCS 2020, doi 10.1145/3372297.3417257")
CIPHERED_BLOCKS = 8   # ciphered SDCCH blocks after a Ciphering Mode Command
SI5_EMPTY = bytes([0x06, 0x1D]) + bytes(16)


@dataclass(frozen=True)
class SmsConfig:
    at_s: float
    sender: str
    text: str
    encoding: str

    def to_json(self) -> dict[str, Any]:
        return {"at_s": self.at_s, "sender": self.sender, "text": self.text, "encoding": self.encoding}


@dataclass(frozen=True)
class DedicatedConfig:
    dedicated: str = "sdcch8"
    ciphering: bool = True
    identity_request: str = "none"
    lu_reject_cause: int = 0
    phones_per_min: float = 0.0
    sms: tuple[SmsConfig, ...] = ()
    sms_from_dataset: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"dedicated": self.dedicated, "ciphering": self.ciphering,
                "identity_request": self.identity_request, "lu_reject_cause": self.lu_reject_cause,
                "phones_per_min": self.phones_per_min, "sms_from_dataset": self.sms_from_dataset}


def dataset_path() -> Path:
    env = os.environ.get("FBSDETECT_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return base / "fbs_sms" / "fbs_sms_train.jsonl"


_CJK = r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]"


def unsegment(text: str) -> str:
    """Removes the dataset's word-segmentation spaces next to CJK characters."""
    return re.sub(rf"(?<={_CJK}) +| +(?={_CJK})", "", text).strip()


def dataset_texts(n: int, seed: int, source: str = "scene") -> list[str]:
    p = dataset_path()
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise BadInput(_("sms_from_dataset needs {path} (set FBSDETECT_SHARED_DATA)").format(
            path=p), source=source) from None
    rng = np.random.default_rng([seed, 0x534D53])
    idx = rng.choice(len(lines), size=min(n, len(lines)), replace=False)
    return [unsegment(json.loads(lines[int(i)])["text"]) for i in idx]


def parse_config(t: Any, *, combined: bool, where: str, source: str) -> DedicatedConfig | None:
    """The dedicated-channel keys of one [[cell]] table (`t`: scene._Table),
    None when the cell has none of them."""
    if not any(k in t.data for k in DEDICATED_KEYS):
        return None
    mode = t.choice("dedicated", "sdcch8", DEDICATED_MODES)
    if mode == "sdcch4" and not combined:
        raise t.fail("dedicated", 'sdcch4 needs ccch = "combined"')
    ciph = t.boolean("ciphering", True)
    ident = t.choice("identity_request", "none", IDENTITY_KINDS)
    cause = t.integer("lu_reject_cause", 0, lo=0, hi=255)
    ppm = t.number("phones_per_min", 0.0, lo=0.0, hi=600.0)
    n_ds = t.integer("sms_from_dataset", 0, lo=0, hi=1000)
    raw = t._take("sms", [], False)
    if not isinstance(raw, list):
        raise t.fail("sms", "must be an array of tables [[cell.sms]]")
    out: list[SmsConfig] = []
    for i, r in enumerate(raw):
        st = type(t)(r, f"{where} [[cell.sms]] {i + 1}", source, SMS_KEYS)
        at = st.number("at_s", 1.0, lo=0.0)
        sender = st.string("sender", "95588")
        text = st.string("text", "test")
        enc = st.choice("encoding", "ucs2" if not smsmod.gsm7_encodable(text) else "gsm7", ("ucs2", "gsm7"))
        st.done()
        if len(sender) > 20 or not (sender.lstrip("+").isdigit() or smsmod.gsm7_encodable(sender)):
            raise st.fail("sender", f"not an SMS originating address: {sender!r}")
        if len(sender) > 11 and not sender.lstrip("+").isdigit():
            raise st.fail("sender", "an alphanumeric sender has at most 11 characters")
        if enc == "gsm7" and not smsmod.gsm7_encodable(text):
            raise st.fail("text", "has characters outside the GSM 7-bit alphabet: use encoding = \"ucs2\"")
        if len(smsmod.split_text(text, enc)) > 255:
            raise st.fail("text", "too long")
        out.append(SmsConfig(float(at), sender, text, enc))
    return DedicatedConfig(mode, ciph, ident, cause, ppm, tuple(out), n_ds)


# ----------------------------------------------------------------------- schedule

@dataclass
class _Conv:
    kind: str                # "phone" | "sms"
    at_s: float
    sms: SmsConfig | None = None
    ia_m: int = 0
    sub: int = 0
    first_fn: int = 0
    n_blocks: int = 0


@dataclass
class DedicatedSchedule:
    """The conversations of one cell, computed once for the whole scene, and
    the content of each 51-multiframe (`mf`): IA frames for the CCCH and the
    (t3, ts, frame or None = ciphered) of the dedicated blocks."""

    cfg: DedicatedConfig
    tsc: int
    first_fn: int
    mf_duration_s: float
    seed: int
    index: int
    mcc: int
    mnc: int
    lac: int
    arfcn: int
    start_time: datetime
    duration_s: float
    ia: dict[int, list[bytes]] = field(default_factory=dict)
    blocks: dict[int, list[tuple[int, int, bytes | None]]] = field(default_factory=dict)
    truth_sms: list[dict[str, Any]] = field(default_factory=list)
    truth_conversations: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.eight = self.cfg.dedicated == "sdcch8"
        self.n_sub = 8 if self.eight else 4
        self.ts = 1 if self.eight else 0
        self._build()

    def _m_of(self, t_s: float) -> int:
        return max(0, math.floor(t_s / self.mf_duration_s))

    def fn_of(self, m: int, t3: int = 0) -> int:
        return (self.first_fn + 51 * m + t3) % 2715648

    def _lai(self) -> bytes:
        m = f"{self.mcc:03d}"
        n = f"{self.mnc:02d}" if self.mnc < 100 else f"{self.mnc:03d}"
        mnc3 = int(n[2]) if len(n) == 3 else 0xF
        return bytes([int(m[1]) << 4 | int(m[0]), mnc3 << 4 | int(m[2]), int(n[1]) << 4 | int(n[0])]) + \
            self.lac.to_bytes(2, "big")

    def _build(self) -> None:
        cfg = self.cfg
        convs: list[_Conv] = [_Conv("sms", s.at_s, s) for s in cfg.sms + self._dataset_sms()]
        if cfg.phones_per_min > 0:
            rng = np.random.default_rng([self.seed, 0x50484E, self.index])
            t = 0.0
            while True:
                t += float(rng.exponential(60.0 / cfg.phones_per_min))
                if t > self.duration_s:
                    break
                convs.append(_Conv("phone", t))
        convs.sort(key=lambda c: c.at_s)
        busy_until = [-10] * self.n_sub   # last multiframe each sub-channel is in use
        ia_used: dict[int, int] = {}
        for k, c in enumerate(convs):
            rng = np.random.default_rng([self.seed, 0x434E56, self.index, k])
            frames = self._script(c, rng, k)
            m = self._m_of(c.at_s)
            while True:
                free = [s for s in range(self.n_sub) if busy_until[s] + 2 < m]
                if free and ia_used.get(m, 0) < 2:
                    break
                m += 1
            c.ia_m, c.sub = m, free[0]
            ia_used[m] = ia_used.get(m, 0) + 1
            self.ia.setdefault(m, []).append(self._ia_frame(c.sub, rng))
            t3 = ded.sdcch_block_starts(c.sub, self.eight)[0]
            sacch_t3, par = ded.sacch_block_t3(c.sub, self.eight)
            ciphered_from = None
            for j, fr in enumerate(frames):
                mm = m + 1 + j
                self.blocks.setdefault(mm, []).append((t3, self.ts, fr))
                if fr is None and ciphered_from is None:
                    ciphered_from = j
                if (self.fn_of(mm) // 51) % 2 == par:
                    sacch = None if ciphered_from is not None else (
                        b"\x00\x00" + lapdm.build_u(0, lapdm.U_UI, pf=False, info=SI5_EMPTY)[:21])
                    self.blocks[mm].append((sacch_t3, self.ts, sacch))
            busy_until[c.sub] = m + len(frames)
            c.first_fn = self.fn_of(m + 1, t3)
            c.n_blocks = len(frames)
            self.truth_conversations.append({"kind": c.kind, "at_s": c.at_s, "ia_fn": self.fn_of(m),
                                             "ts": self.ts, "subchannel": c.sub,
                                             "first_sdcch_fn": c.first_fn, "blocks": len(frames)})
            if c.sms is not None:
                self.truth_sms.append({**c.sms.to_json(), "fn": c.first_fn, "ts": self.ts,
                                       "subchannel": c.sub, "ciphered": cfg.ciphering,
                                       "parts": len(smsmod.split_text(c.sms.text, c.sms.encoding))})

    def _dataset_sms(self) -> tuple[SmsConfig, ...]:
        n = self.cfg.sms_from_dataset
        if not n:
            return ()
        rng = np.random.default_rng([self.seed, 0x534E44, self.index])
        texts = dataset_texts(n, self.seed + self.index)
        span = max(self.duration_s - 4.0, 1.0)
        return tuple(SmsConfig(round(1.0 + span * k / len(texts), 3),
                               DATASET_SENDERS[int(rng.integers(0, len(DATASET_SENDERS)))], text,
                               "gsm7" if smsmod.gsm7_encodable(text) else "ucs2")
                     for k, text in enumerate(texts))

    def _ia_frame(self, sub: int, rng: np.random.Generator) -> bytes:
        code = (0b01000 | sub) if self.eight else (0b00100 | sub)
        chan = bytes([(code << 3) | self.ts, (self.tsc << 5) | ((self.arfcn >> 8) & 3), self.arfcn & 0xFF])
        ra = int(rng.integers(0, 256))
        req = bytes([ra, int(rng.integers(0, 256)), int(rng.integers(0, 256))])
        body = bytes([0x06, 0x3F, 0x00]) + chan + req + bytes([int(rng.integers(0, 8)), 0x00])
        frame = bytes([(len(body) << 2) | 1]) + body
        return frame + bytes([0x2B]) * (23 - len(frame))

    def _script(self, c: _Conv, rng: np.random.Generator, k: int) -> list[bytes | None]:
        """The downlink SDCCH frames of one conversation (None = a ciphered block)."""
        cfg = self.cfg
        fill = lapdm.build_u(0, lapdm.U_UI, pf=False)
        tmsi = bytes(int(x) for x in rng.integers(0, 256, 4))
        out: list[bytes | None] = []
        ns = 0

        def i_frames(sapi: int, l3: bytes, n: int) -> list[bytes]:
            return lapdm.build_frames(sapi, l3, ns0=n, nr=1)

        first = (messages.build_paging_response_tmsi(tmsi) if c.kind == "sms"
                 else messages.build_lu_request_tmsi(tmsi, self._lai()))
        out.append(lapdm.build_u(0, lapdm.U_UA, pf=True, cr=0, info=first))
        if cfg.ciphering:
            rand = bytes(int(x) for x in rng.integers(0, 256, 16))
            out += i_frames(0, messages.build_auth_request(rand), ns)
            ns += 1
            out.append(fill)
            out += i_frames(0, messages.build_ciphering_mode_command(1), ns)
            out += [None] * (CIPHERED_BLOCKS + (6 if c.sms else 0))
            return out
        if c.kind == "phone":
            if cfg.identity_request != "none":
                out += i_frames(0, messages.build_identity_request(cfg.identity_request), ns)
                ns += 1
                out.append(fill)
            if cfg.lu_reject_cause:
                out += i_frames(0, messages.build_lu_reject(cfg.lu_reject_cause), ns)
            else:
                out += i_frames(0, messages.build_lu_accept(self._lai()), ns)
            ns += 1
            out.append(fill)
        else:
            assert c.sms is not None
            out.append(lapdm.build_u(3, lapdm.U_SABM, pf=True))
            parts = smsmod.split_text(c.sms.text, c.sms.encoding)
            t = (self.start_time + timedelta(seconds=c.at_s)).astimezone()
            scts = t.astimezone(_tz8()).replace(microsecond=0)
            ref = int(rng.integers(0, 256))
            ns3 = 0
            for i, p in enumerate(parts, 1):
                concat = (ref, len(parts), i) if len(parts) > 1 else None
                tpdu = smsmod.build_deliver(c.sms.sender, p, c.sms.encoding, scts, concat=concat)
                cp = smsmod.build_cp_data(smsmod.build_rp_data(tpdu, (k + i) & 0xFF, "+8613800100500"),
                                          ti=i % 7)
                fr = i_frames(3, cp, ns3)
                ns3 += len(fr)
                out += fr
                out.append(fill)
        out += i_frames(0, messages.build_channel_release(0), ns)
        return out

    def mf(self, m: int) -> tuple[list[bytes], list[tuple[int, int, bytes | None]]]:
        return self.ia.get(m, []), self.blocks.get(m, [])

    def random_bursts(self, m: int, t3: int, ts: int) -> npt.NDArray[np.uint8]:
        """(4, 114) random data bits of a ciphered block (seeded)."""
        rng = np.random.default_rng([self.seed, 0x434950, self.index, m + 1, t3, ts])
        return rng.integers(0, 2, (4, 114), dtype=np.uint8)

    def truth(self) -> dict[str, Any]:
        return {"dedicated": self.cfg.dedicated, "conversations": self.truth_conversations}


def _tz8() -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=8))


def schedule_for(scene: Any, cell: Any, start_fn: int, symbol_rate_hz: float) -> DedicatedSchedule:
    """The schedule of a scene cell (`cell.traffic` set), for the renderer."""
    from fbsdetect.sim.transmitter import MF_BITS

    return DedicatedSchedule(cfg=cell.traffic, tsc=cell.bsic & 7, first_fn=start_fn - start_fn % 51,
                             mf_duration_s=MF_BITS / symbol_rate_hz, seed=scene.info.seed, index=cell.index,
                             mcc=cell.mcc, mnc=cell.mnc, lac=cell.lac, arfcn=cell.arfcn,
                             start_time=scene.info.start_time, duration_s=scene.info.duration_s)
