"""Follow Immediate Assignments (TS 44.018 9.1.18) on a carrier's CCCH to the
assigned SDCCH/8 (any timeslot) or SDCCH/4 (combined TS0) and read what the
network says there, downlink only, receive-only.

Fed with every burst of the carrier (`on_burst(fn, ts, soft148)`) and with
the CCCH frames the TS0 decoder produces (`on_ccch(L2Frame)`), in any
interleaving: the TS0 decoder hands out blocks in batches, so an assignment
often arrives after the first bursts of its channel. Bursts of the followable
timeslots are therefore kept for `BUFFER_FRAMES`, and a new conversation is
replayed from the first block of its sub-channel after `fn - LOOKBACK_FRAMES`
(the network activates the channel before it sends the assignment: the
first fill frames can precede it).

Per conversation: xCCH decoding of the sub-channel's SDCCH and SACCH blocks
(`gsm.dedicated`), LAPDm reassembly (`l3.lapdm`), message recognition
(`l3.messages`), SMS-DELIVER parsing and concatenation (`l3.sms`). After a
Ciphering Mode Command every block that fails its CRC is counted as
`ciphered_blocks`, never as an error, and never decrypted. A conversation
ends with a Channel Release or DISC (SAPI 0) in clear, with idle (dummy
burst) blocks after traffic, when no block decodes for `SILENT_FRAMES`
(clear) or after `CIPHERED_MAX_FRAMES` (ciphered).

Not followed, only counted: hopping assignments (`hopping`), TCH and packet
assignments and timeslots the caller does not deliver (`not_followed`). An
SDCCH/4 assignment tells that TS0 is combined (the only place SDCCH/4 exists).
Every malformed frame, message or SMS is a count (`lapdm_malformed`, `l3_malformed`, `sms_malformed`).
Identities (Paging Response, LU Request) only ever leave through the
`hasher` (keyed hash by default, `l3.identity`); with `pseudonymise_frames`
(the scan, whose frames are stored) and an `IdentityHasher` that hashes, the
frames returned carry a keyed pseudonym in place of the Mobile Identity
(`l3.lapdm.pseudonymise_frame`), so the database and its exports hold no
victim's TMSI/IMSI either. `decode-bursts` and `decode --frames` print the
frames as received (like gr-gsm).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.gsm import dedicated
from fbsdetect.l3 import lapdm, messages
from fbsdetect.l3 import sms as smsmod
from fbsdetect.types import L2Frame

LOOKBACK_FRAMES = 51
BUFFER_FRAMES = 51 * 52      # ~12 s: more than the TS0 decoder's batch latency
SILENT_FRAMES = 51 * 8
CIPHERED_MAX_FRAMES = 51 * 26 * 10
IDLE_BLOCKS_END = 2


@dataclass(frozen=True)
class TrafficEvent:
    """One recognised layer-3 message on a followed channel."""

    fn: int
    ts: int
    subchannel: int
    channel: str
    sapi: int
    name: str
    fields: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"fn": self.fn, "ts": self.ts, "channel": self.channel, "sub": self.subchannel,
                "sapi": self.sapi, "message": self.name, **self.fields}


@dataclass(frozen=True)
class CapturedSms:
    """An SMS delivered in clear on a followed channel (parts joined)."""

    fn: int                  # the first SDCCH block of the conversation that delivered it
    arfcn: int | None
    ts: int
    subchannel: int
    sender: str
    smsc: str
    scts: str | None         # ISO-8601 with offset
    encoding: str            # gsm7 | ucs2 | 8bit
    text: str
    parts: int
    complete: bool = True
    time_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"fn": self.fn, "arfcn": self.arfcn, "ts": self.ts, "sub": self.subchannel,
                "sender": self.sender, "smsc": self.smsc, "scts": self.scts,
                "encoding": self.encoding, "text": self.text, "parts": self.parts,
                "complete": self.complete}


@dataclass
class TrafficCounts:
    """What the followed channels of one carrier showed (contracts.md section 5 `traffic`)."""

    assignments: int = 0          # Immediate Assignments of a dedicated channel
    followed: int = 0
    hopping: int = 0
    not_followed: int = 0
    ciphered: int = 0             # conversations with a Ciphering Mode Command
    ciphered_blocks: int = 0
    identity_requests: Counter[str] = field(default_factory=Counter)
    lu_accepts: int = 0
    lu_rejects: int = 0
    lu_reject_causes: Counter[int] = field(default_factory=Counter)
    auth_requests: int = 0
    lu_accept_without_auth: int = 0
    imsi_request_then_reject: int = 0
    paging_responses: int = 0
    channel_releases: int = 0
    sms: int = 0
    sms_unciphered: int = 0       # SMS on a conversation never ciphered before it
    paging_requests: int = 0      # Paging Request messages on CCCH (non-empty)
    paging_identities: int = 0
    other: Counter[str] = field(default_factory=Counter)  # blocks_ok/bad/idle, malformed ...

    def to_json(self) -> dict[str, Any]:
        return {"assignments": self.assignments, "followed": self.followed, "hopping": self.hopping,
                "not_followed": self.not_followed, "ciphered": self.ciphered,
                "ciphered_blocks": self.ciphered_blocks,
                "identity_requests": dict(self.identity_requests),
                "lu_accepts": self.lu_accepts, "lu_rejects": self.lu_rejects,
                "lu_reject_causes": {str(k): v for k, v in sorted(self.lu_reject_causes.items())},
                "auth_requests": self.auth_requests,
                "lu_accept_without_auth": self.lu_accept_without_auth,
                "imsi_request_then_reject": self.imsi_request_then_reject,
                "paging_responses": self.paging_responses, "channel_releases": self.channel_releases,
                "sms": self.sms, "sms_unciphered": self.sms_unciphered,
                "paging_requests": self.paging_requests, "paging_identities": self.paging_identities,
                "outcomes": dict(self.other)}

    def merge(self, o: TrafficCounts) -> None:
        for k, v in vars(o).items():
            mine = getattr(self, k)
            if isinstance(v, Counter):
                mine.update(v)
            else:
                setattr(self, k, mine + v)


# L3 messages a network that ciphers exchanges in clear before its Ciphering Mode Command
# (the phone's request, Authentication Request/Response, Identity Request for IMEI(SV), Classmark...)
PRE_CIPHER_MSGS = 6


@dataclass
class _Conversation:
    ts: int
    sub: int
    eight: bool
    start_fn: int
    dec: dedicated.DedicatedDecoder
    tsc: int | None = None
    lapdm: lapdm.Reassembler = field(default_factory=lapdm.Reassembler)
    concat: smsmod.Concatenator = field(default_factory=smsmod.Concatenator)
    first_sdcch_fn: int | None = None
    last_fn: int = -1
    last_good_fn: int = -1
    ciphered_at: int | None = None
    idle_run: int = 0
    traffic: bool = False
    ended: bool = False
    auth: bool = False
    imsi_asked: bool = False
    n_msgs: int = 0
    clear_sign: bool = False  # said in clear what a ciphering network does not (see `TrafficFollower.busy`)


class TrafficFollower:
    """See the module docstring. `emit_ts0`: also return the frames decoded
    on TS0 (False when a TS0 decoder already outputs the combined SDCCH/4)."""

    def __init__(self, arfcn: int | None = None, *, combined: bool = False,
                 hasher: Callable[[str, str], str] | None = None, emit_ts0: bool = False,
                 timeslots: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7),
                 time_of_fn: Callable[[int], float | None] | None = None,
                 follow_ciphered: bool = True, pseudonymise_frames: bool = False) -> None:
        self.arfcn = arfcn
        self.pseudonymise_frames = pseudonymise_frames
        self.follow_ciphered = follow_ciphered  # False: a ciphered conversation is counted and left
        self.combined = combined
        self.hasher = hasher
        self.emit_ts0 = emit_ts0
        self.timeslots = set(timeslots)
        self.time_of_fn = time_of_fn
        self.counts = TrafficCounts()
        self.events: list[TrafficEvent] = []
        self.sms: list[CapturedSms] = []
        self.paging_stats: dict[str, Any] | None = None  # the dwell's paging (traffic.receiver.paging_stats)
        self._buf: deque[tuple[int, int, npt.NDArray[np.float32]]] = deque()
        self._latest_fn = -1
        self._conv: dict[tuple[int, int], _Conversation] = {}
        self._seen_ia: set[tuple[int, bytes]] = set()

    # -- input ------------------------------------------------------------------------
    def on_burst(self, fn: int, ts: int, soft148: npt.ArrayLike) -> list[L2Frame]:
        if ts not in self.timeslots or (ts == 0 and not self.combined):
            return []
        soft = np.asarray(soft148, dtype=np.float32)
        self._buf.append((fn, ts, soft))
        if fn > self._latest_fn:
            self._latest_fn = fn
        while self._buf and self._buf[0][0] < self._latest_fn - BUFFER_FRAMES:
            self._buf.popleft()
        out: list[L2Frame] = []
        for key, c in list(self._conv.items()):
            if c.ts == ts:
                out += self._feed(c, fn, ts, soft)
            if c.ended:
                del self._conv[key]
        return out

    def on_payload(self, fn: int, ts: int, data114: npt.ArrayLike, dummy: bool) -> list[L2Frame]:
        """A demodulated burst's 114 data bits (a receiver that demodulates only
        the bursts the active conversations need: `wanted_blocks`)."""
        out: list[L2Frame] = []
        for key, c in list(self._conv.items()):
            if c.ts == ts and c.dec.wants(fn, ts) is not None:
                out += self._feed(c, fn, ts, None, data114, dummy)
            if c.ended:
                del self._conv[key]
        return out

    def wanted_blocks(self, fa: int, fb: int) -> list[tuple[int, int, int | None]]:
        """(first fn, ts, TSC from the assignment) of the blocks of active
        conversations starting in [fa, fb) (frame numbers, fa <= fb) that
        were not fed yet."""
        out = []
        for c in self._conv.values():
            lo = max(fa, c.start_fn, c.last_fn + 1)
            base = lo - lo % 51
            for m in range(base, fb, 51):
                for t3 in (*dedicated.sdcch_block_starts(c.sub, c.eight),
                           dedicated.sacch_block_t3(c.sub, c.eight)[0]):
                    fn = m + t3
                    if lo <= fn < fb and dedicated.channel_of(fn, c.eight).subchannel == c.sub:
                        out.append((fn, c.ts, c.tsc))
        return sorted(set(out), key=lambda x: (x[0], x[1]))

    def on_ccch(self, frame: L2Frame) -> list[L2Frame]:
        """A decoded CCCH (or any TS0) frame: Immediate Assignments start
        conversations (replayed from the buffer), paging is counted."""
        from fbsdetect.sysinfo import parse_any
        from fbsdetect.sysinfo.immediate_assignment import ImmediateAssignment
        from fbsdetect.sysinfo.paging import PagingRequest

        if frame.channel not in ("CCCH", "AGCH", "PCH"):
            return []
        m = parse_any(frame.data)
        if isinstance(m, PagingRequest):
            if not m.is_empty:
                self.counts.paging_requests += 1
                self.counts.paging_identities += sum(1 for i in m.identities if i.kind != "none")
            return []
        if not isinstance(m, ImmediateAssignment) or m.tbf:
            return []
        key = (frame.fn, frame.data)
        if key in self._seen_ia:
            return []
        self._seen_ia.add(key)
        if len(self._seen_ia) > 10000:
            self._seen_ia.clear()
        self.counts.assignments += 1
        if m.hopping:
            self.counts.hopping += 1
            return []
        eight = m.channel_type == "SDCCH/8"
        if m.channel_type == "SDCCH/4" and m.timeslot == 0:
            self.combined = True  # SDCCH/4 exists only on a combined TS0 (TS 45.002 6.4.1)
        if m.subchannel is None or not (eight or (m.channel_type == "SDCCH/4" and m.timeslot == 0)):
            self.counts.not_followed += 1
            return []
        if m.timeslot not in self.timeslots:
            self.counts.not_followed += 1
            return []
        return self.follow(frame.fn, m.timeslot, m.subchannel, eight, m.tsc)

    def follow(self, ia_fn: int, ts: int, sub: int, eight: bool, tsc: int | None = None) -> list[L2Frame]:
        """Starts a conversation on (ts, sub) assigned at `ia_fn` and replays
        the buffered bursts from its lookback."""
        out: list[L2Frame] = []
        old = self._conv.pop((ts, sub), None)
        begin = ia_fn - LOOKBACK_FRAMES
        if old is not None:
            out += self._end(old)
            begin = max(begin, old.last_fn + 1)
        self.counts.followed += 1
        c = _Conversation(ts, sub, eight, ia_fn, dedicated.DedicatedDecoder(ts, sub, eight), tsc=tsc)
        # start at the first SDCCH block of the sub-channel at or after `begin`
        t0 = dedicated.sdcch_block_starts(sub, eight)[0]
        first = begin - begin % 51 + t0
        if first < begin:
            first += 51
        self._conv[(ts, sub)] = c
        for fn, bts, soft in list(self._buf):
            if bts == ts and fn >= first and not c.ended:
                out += self._feed(c, fn, bts, soft)
        if c.ended:
            self._conv.pop((ts, sub), None)
        c.start_fn = first
        return out

    def active(self) -> bool:
        return any(not c.ended for c in self._conv.values())

    def busy(self, held: set[int] | None = None) -> bool:
        """A conversation in clear is going on (worth listening to). With `held` (the ids of
        the conversations that were going on when the dwell would have ended: `hold_set`),
        a conversation begun later counts until the network authenticates the phone (a
        network that ciphers sends its Authentication Request right after the phone's first
        message; an SMS blaster does not), and after that only once it said in clear what a
        ciphering network does not before its Ciphering Mode Command (an IMSI asked, an LU
        answer without authentication, an LU Reject, an SMS, more than PRE_CIPHER_MSGS
        messages): a busy legitimate cell's every new conversation is in clear for its
        first blocks, and should hold the dwell one block, not until its CMC (review #3)."""
        return any(not c.ended and c.ciphered_at is None
                   and (held is None or id(c) in held or not c.auth or c.clear_sign or c.imsi_asked)
                   for c in self._conv.values())

    def hold_set(self) -> set[int]:
        """The ids of the conversations going on now (see `busy`)."""
        return {id(c) for c in self._conv.values() if not c.ended}

    def flush(self) -> list[L2Frame]:
        out: list[L2Frame] = []
        for c in list(self._conv.values()):
            out += self._end(c)
        self._conv.clear()
        return out

    def _pseudonym_key(self) -> bytes | None:
        """The hasher's key when identities are hashed (None: clear, or no hasher)."""
        h = self.hasher
        if not self.pseudonymise_frames or h is None or getattr(h, "clear", True):
            return None
        if getattr(h, "key", None) is None:
            h("tmsi", "")  # loads (or creates) the per-install key
        key = getattr(h, "key", None)
        return key if isinstance(key, bytes) else None

    # -- one conversation -------------------------------------------------------------
    def _feed(self, c: _Conversation, fn: int, ts: int, soft: npt.NDArray[np.float32] | None,
              data114: npt.ArrayLike | None = None, dummy: bool = False) -> list[L2Frame]:
        if fn <= c.last_fn - 51 * 2 and c.dec.wants(fn, ts) is None:
            return []
        if soft is not None:
            blocks = c.dec.push(fn, ts, soft)
        else:
            assert data114 is not None
            blocks = c.dec.push_payload(fn, ts, data114, dummy)
        out: list[L2Frame] = []
        for b in blocks:
            c.last_fn = max(c.last_fn, b.fn)
            out += self._block(c, b)
            if c.ended:
                break
        if not c.ended:
            limit = CIPHERED_MAX_FRAMES if c.ciphered_at is not None else SILENT_FRAMES
            ref = c.ciphered_at if c.ciphered_at is not None else max(c.last_good_fn, c.start_fn)
            if fn - ref > limit:
                self.counts.other["ended_timeout"] += 1
                out += self._end(c)
        return out

    def _block(self, c: _Conversation, b: dedicated.DedBlock) -> list[L2Frame]:
        oc = self.counts.other
        sacch = b.channel in (dedicated.SACCH8, dedicated.SACCH4)
        if not b.ok:
            if b.idle:
                oc["blocks_idle"] += 1
                if not sacch:
                    c.idle_run += 1
                    if (c.traffic or c.ciphered_at is not None) and c.idle_run >= IDLE_BLOCKS_END:
                        oc["ended_idle"] += 1
                        self._end(c)
            elif c.ciphered_at is not None:
                self.counts.ciphered_blocks += 1
            else:
                oc["blocks_bad"] += 1
            return []
        assert b.data is not None
        oc["blocks_ok"] += 1
        c.idle_run = 0
        c.last_good_fn = b.fn
        if not sacch and c.first_sdcch_fn is None:
            c.first_sdcch_fn = b.fn
        data = b.data
        key = self._pseudonym_key()
        if key is not None:  # victims' identities never leave in clear (l3.identity)
            data = lapdm.pseudonymise_frame(b.data, key, sacch)
            if data != b.data:
                oc["identities_pseudonymised"] += 1
        frame = L2Frame(arfcn=self.arfcn, fn=b.fn, ts=b.ts, channel=b.channel, data=data,
                        time_s=self.time_of_fn(b.fn) if self.time_of_fn else None)
        msgs = c.lapdm.push(b.data, sacch=sacch)
        for k, v in c.lapdm.stats.items():
            if v:
                oc[k] += v
        c.lapdm.stats.clear()
        for sapi, l3 in msgs:
            self._message(c, b, sapi, l3)
        return [frame] if (b.ts != 0 or self.emit_ts0) else []

    def _message(self, c: _Conversation, b: dedicated.DedBlock, sapi: int, l3: bytes) -> None:
        m = messages.parse_l3(l3, self.hasher)
        cnt = self.counts
        if isinstance(m, str):
            cnt.other["sms_malformed" if m.startswith("SMS") else "l3_malformed"] += 1
            return
        if m.name.startswith("SI"):
            return
        c.traffic = True
        c.n_msgs += 1
        if c.ciphered_at is None and c.n_msgs > PRE_CIPHER_MSGS:
            c.clear_sign = True
        self.events.append(TrafficEvent(b.fn, b.ts, b.subchannel, b.channel, sapi, m.name, dict(m.fields)))
        if m.name == "Ciphering Mode Command":
            if m.fields.get("start_ciphering") and c.ciphered_at is None:
                c.ciphered_at = b.fn
                cnt.ciphered += 1
                if not self.follow_ciphered:
                    self._end(c)
        elif m.name == "Identity Request":
            kind = str(m.fields.get("identity_type"))
            cnt.identity_requests[kind] += 1
            c.imsi_asked = c.imsi_asked or kind == "imsi"
        elif m.name == "Authentication Request":
            cnt.auth_requests += 1
            c.auth = True
        elif m.name == "Location Updating Accept":
            cnt.lu_accepts += 1
            if not c.auth:
                cnt.lu_accept_without_auth += 1
                c.clear_sign = True
        elif m.name == "Location Updating Reject":
            cnt.lu_rejects += 1
            cnt.lu_reject_causes[int(m.fields.get("cause", 0))] += 1  # type: ignore[call-overload]
            c.clear_sign = True
            if c.imsi_asked:
                cnt.imsi_request_then_reject += 1
        elif m.name == "Paging Response":
            cnt.paging_responses += 1
        elif m.name == "Channel Release":
            cnt.channel_releases += 1
            self._end(c)
        elif m.sms is not None:
            c.clear_sign = c.clear_sign or c.ciphered_at is None
            for first, text, parts in c.concat.push(m.sms):
                self._capture(c, first, text, parts, True)

    def _capture(self, c: _Conversation, m: smsmod.SmsDeliver, text: str, parts: int,
                 complete: bool) -> None:
        fn = c.first_sdcch_fn if c.first_sdcch_fn is not None else c.start_fn
        self.counts.sms += 1
        if c.ciphered_at is None:
            self.counts.sms_unciphered += 1
        self.sms.append(CapturedSms(fn, self.arfcn, c.ts, c.sub, m.sender, m.smsc,
                                    m.scts.isoformat() if m.scts else None, m.encoding, text, parts,
                                    complete, self.time_of_fn(fn) if self.time_of_fn else None))

    def _end(self, c: _Conversation) -> list[L2Frame]:
        if c.ended:
            return []
        c.ended = True
        for first, text, parts in c.concat.pending():
            self.counts.other["sms_incomplete"] += 1
            self._capture(c, first, text, parts, False)
        c.dec.drop_before(1 << 30)
        for k, v in c.dec.stats.items():
            self.counts.other[k] += v
        return []
