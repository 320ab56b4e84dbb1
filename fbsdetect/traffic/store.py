"""Rows for the store (`SmsRow`, `TrafficRow`, fbsdetect/store/models.py) from
a carrier's `TrafficFollower`, and the scan's hook `record(sink, obs_id,
carrier)`: a sink that keeps rows with an observation (`StoreSink.extra_rows`)
gets them; others (MemorySink) get `traffic` appended to a list when they
have one. SMS are categorised (`fbsdetect.sms`) when the model loads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def traffic_rows(follower: Any, start_time: datetime | None) -> list[Any]:
    from fbsdetect.store.models import SmsRow, TrafficRow

    if follower is None:
        return []
    c = follower.counts
    rows: list[Any] = []
    if c.assignments or follower.sms or c.paging_requests:
        rows.append(TrafficRow(counts=c.to_json(), events=[e.to_json() for e in follower.events][:500]))
    cats = _categorise([s.text for s in follower.sms])
    for s, cat in zip(follower.sms, cats, strict=True):
        t = None
        if start_time is not None and s.time_s is not None:
            t = start_time + timedelta(seconds=s.time_s)
        rows.append(SmsRow(time=t, fn=s.fn, ts=s.ts, subchannel=s.subchannel, sender=s.sender[:32],
                           smsc=s.smsc[:32] or None, scts=s.scts, encoding=s.encoding, text=s.text,
                           parts=s.parts, complete=s.complete, category=cat[0] if cat else None,
                           score=cat[1] if cat else None))
    return rows


def _categorise(texts: list[str]) -> list[tuple[str, float] | None]:
    if not texts:
        return []
    try:
        from fbsdetect.sms.model import load_default

        model = load_default()
    except Exception:  # no model shipped: stored uncategorised
        return [None] * len(texts)
    return [(cat, score) for cat, score in model.predict(texts)]


def record(sink: Any, obs_id: int, carrier: Any, start_time: datetime | None) -> None:
    """The scan's hook after `sink.observation(...)` returned `obs_id`."""
    follower = getattr(carrier, "traffic", None)
    if follower is None:
        return
    add = getattr(sink, "extra_rows", None)
    if add is not None:
        rows = traffic_rows(follower, start_time)
        if rows:
            add(obs_id, rows)
        return
    keep = getattr(sink, "traffic", None)
    if isinstance(keep, list):
        keep.append((obs_id, follower))


def detection_extras(ses: Any, detection_ids: list[int]) -> dict[int, dict[str, Any]]:
    """contracts.md section 5 `sms` and `traffic` of stored detections whose
    cell's dedicated channels were followed: every SMS captured from the cell
    (concatenated parts joined) and the traffic counts summed over its
    observations. Detections without any get nothing."""
    from sqlalchemy import select

    from fbsdetect.store.models import Observation, SmsRow, TrafficRow

    out: dict[int, dict[str, Any]] = {}
    if not detection_ids:
        return out
    for det, r in ses.execute(select(Observation.detection_id, SmsRow)
                              .join(SmsRow, SmsRow.observation_id == Observation.id)
                              .where(Observation.detection_id.in_(detection_ids)).order_by(SmsRow.id)):
        out.setdefault(det, {"sms": [], "traffic": {}})["sms"].append(
            {"time": r.time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if r.time else None,
             "sender": r.sender, "text": r.text, "encoding": r.encoding, "category": r.category})
    for det, counts in ses.execute(select(Observation.detection_id, TrafficRow.counts)
                                   .join(TrafficRow, TrafficRow.observation_id == Observation.id)
                                   .where(Observation.detection_id.in_(detection_ids))):
        agg = out.setdefault(det, {"sms": [], "traffic": {}})["traffic"]
        for k in ("assignments", "ciphered", "lu_rejects", "lu_accepts", "auth_requests", "sms",
                  "hopping", "paging_responses"):
            agg[k] = agg.get(k, 0) + int(counts.get(k, 0) or 0)
        ids = agg.setdefault("identity_requests", {})
        for k, v in (counts.get("identity_requests") or {}).items():
            ids[k] = ids.get(k, 0) + int(v)
    return {d: v for d, v in out.items() if v["sms"] or v["traffic"].get("assignments")}
