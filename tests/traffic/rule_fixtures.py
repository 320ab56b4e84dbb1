"""Fixtures of the dedicated-channel rules (issue 13), in the form of
tests/detect/test_heuristics.py (`trigger_<module>` / `benign_<module>`
returning (Seen, RuleContext)); that module imports them so its
every-rule-has-fixtures check covers these rules too."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fbsdetect.detect.context import RuleContext, Seen
from tests.detect import support as S

Case = tuple[Seen, Any]
SMS = ({"sender": "95588", "text": "【工商银行】您的积分即将清零，请登录 icbc-jf.cc 兑换现金",
        "encoding": "ucs2", "category": "FR:Phishing(Bank)"},)


def _with(case: Case, traffic: dict[str, Any] | None, sms: tuple[dict[str, Any], ...] = ()) -> Case:
    seen, ctx = case
    s = replace(seen, traffic=traffic, sms=sms)
    return s, RuleContext(s, ctx.world, registry=ctx.registry, baseline=ctx.baseline, profile=ctx.profile,
                          config=ctx.config)


def _legit() -> Case:
    town = S.town()
    return S.context(town[0], town[1:])


def _fake() -> Case:
    return S.context(S.fake(lac=9999, cid=1))


def trigger_sms_unciphered() -> Case:
    return _with(_fake(), {"sms": 1, "sms_unciphered": 1}, SMS)


def benign_sms_unciphered() -> Case:
    return _with(_legit(), {"assignments": 12, "ciphered": 12, "sms": 0, "sms_unciphered": 0})


def benign2_sms_unciphered() -> Case:
    return _legit()  # dedicated channels not followed


def trigger_imsi_request_then_reject() -> Case:
    return _with(_fake(), {"identity_requests": {"imsi": 4}, "imsi_request_then_reject": 4, "lu_rejects": 4,
                           "lu_reject_causes": {"13": 4}})


def benign_imsi_request_then_reject() -> Case:
    return _with(_legit(), {"identity_requests": {"imsi": 1}, "imsi_request_then_reject": 0,
                            "lu_rejects": 0, "lu_accepts": 3, "auth_requests": 3})


def trigger_no_auth_before_accept() -> Case:
    return _with(_fake(), {"lu_accepts": 3, "lu_accept_without_auth": 3, "auth_requests": 0})


def benign_no_auth_before_accept() -> Case:
    return _with(_legit(), {"lu_accepts": 10, "lu_accept_without_auth": 1, "auth_requests": 9})


def trigger_spoofed_sender() -> Case:
    return _with(_fake(), {"sms": 1, "sms_unciphered": 1}, SMS)


def benign_spoofed_sender() -> Case:
    return _with(_legit(), {"sms": 1}, SMS)  # a registered cell


def benign2_spoofed_sender() -> Case:
    return _with(_fake(), {"sms": 1}, ({"sender": "+8613912345678", "text": "hi", "encoding": "gsm7"},))


def trigger_assignments_without_paging() -> Case:
    return _with(_fake(), {"assignments": 30, "paging_responses": 0, "paging_requests": 2})


def benign_assignments_without_paging() -> Case:
    return _with(_legit(), {"assignments": 30, "paging_responses": 12, "paging_requests": 60})


def benign2_assignments_without_paging() -> Case:
    return _with(_fake(), {"assignments": 4, "paging_responses": 0, "paging_requests": 0})


__all__ = [n for n in dir() if n.startswith(("trigger_", "benign"))]
