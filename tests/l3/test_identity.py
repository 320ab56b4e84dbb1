"""Identities: keyed hashes by default, clear only on request; pseudonyms in frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from fbsdetect.l3 import identity, lapdm, messages


def test_hasher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "k"))
    monkeypatch.delenv("FBSDETECT_CLEAR_IDENTITIES", raising=False)
    h = identity.IdentityHasher()
    a = h("imsi", "460001234567890")
    assert a.startswith("imsi:h") and "1234567890" not in a and a == h("imsi", "460001234567890")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert identity.IdentityHasher(key=b"other")("imsi", "460001234567890") != a
    monkeypatch.setenv("FBSDETECT_CLEAR_IDENTITIES", "1")
    assert identity.IdentityHasher()("imsi", "460001234567890") == "imsi:460001234567890"


def test_pseudonymise() -> None:
    tmsi = bytes.fromhex("01020304")
    pr = messages.build_paging_response_tmsi(tmsi)
    ua = lapdm.build_u(0, lapdm.U_UA, cr=0, info=pr)
    out = lapdm.pseudonymise_frame(ua, b"k")
    assert len(out) == 23 and tmsi not in out and out != ua
    m = messages.parse_l3(lapdm.parse_frame(out).info)  # type: ignore[union-attr]
    assert not isinstance(m, str) and m.name == "Paging Response" and m.fields == {"identity_type": "tmsi"}
    lu = messages.build_lu_request_tmsi(tmsi, bytes.fromhex("64f0001e61"))
    assert tmsi not in identity.pseudonymise_l3(lu, b"k")
    # an IMSI keeps MCC+MNC, loses the rest
    imsi = (bytes([0x05, 0x08, 0x70]) + bytes.fromhex("64f0001e61")
            + bytes([0x53, 0x08, 0x49, 0x06, 0x00, 0x21, 0x43, 0x65, 0x87, 0x09]))
    out2 = identity.pseudonymise_l3(imsi, b"k")
    assert out2[:13] == imsi[:13] and out2[13:] != imsi[13:] and len(out2) == len(imsi)
    assert identity.pseudonymise_l3(messages.build_lu_reject(13), b"k") == messages.build_lu_reject(13)
