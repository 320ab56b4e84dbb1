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


def test_malformed_paging_blocks_keep_no_identity_octets():
    """Review #16: a paging block the parser calls malformed (the sender chose the pseudo length) must not
    come back from the pseudonymiser with its IMSI/TMSI octets in clear."""
    from fbsdetect.l3.identity import pseudonymise_paging
    from fbsdetect.sysinfo.paging import MobileIdentity, PagingRequest, build_p1, build_p2, parse

    key = b"k" * 32
    p1 = bytearray(build_p1([MobileIdentity("imsi", "460001234567890")]))
    imsi_octets = bytes(p1[5:5 + p1[4]])
    p1[0] = (2 << 2) | (p1[0] & 3)  # pseudo length 2: the identity "overruns the message"
    assert not isinstance(parse(bytes(p1)), PagingRequest)
    out = pseudonymise_paging(bytes(p1), key)
    assert imsi_octets[1:] not in out and len(out) == len(p1) and out[:3] == bytes(p1[:3])

    p2 = bytearray(build_p2("a1b2c3d4", "0badf00d"))
    p2[0] = (6 << 2) | (p2[0] & 3)
    assert not isinstance(parse(bytes(p2)), PagingRequest)
    out = pseudonymise_paging(bytes(p2), key)
    assert bytes.fromhex("a1b2c3d4") not in out and bytes.fromhex("0badf00d") not in out

    for junk in (bytes([0x2D, 0x06, 0x21]), bytes([0x2D, 0x06, 0x99]) + imsi_octets + bytes(16)):
        assert imsi_octets[1:] not in pseudonymise_paging(junk, key)


def test_segmented_message_keeps_no_identity_in_clear() -> None:
    """Review (session 4) #1: the first segment (M bit set) of a message longer than one frame, here an
    LU Accept with a new TMSI and an Equivalent PLMNs list (22 octets: two SDCCH frames), used to be
    stored as decoded. Its identity is pseudonymised like that of a single-frame message; the
    continuation holds none and is left alone; the pseudonymised frames still reassemble."""
    key = b"k" * 32
    tmsi = bytes.fromhex("deadbeef")
    lu = bytes([0x05, 0x02]) + bytes.fromhex("64f0002832") + bytes([0x17, 0x05, 0xF4]) + tmsi \
        + bytes.fromhex("4a0664f01064f020")
    frames = lapdm.build_frames(0, lu, ns0=1)
    assert len(frames) == 2 and tmsi in frames[0]
    out = [lapdm.pseudonymise_frame(f, key) for f in frames]
    assert all(tmsi not in f for f in out) and out[1] == frames[1]
    r = lapdm.Reassembler()
    whole = [m for f in out for m in r.push(f)]
    assert len(whole) == 1 and whole[0][1] == identity.pseudonymise_l3(lu, key)
    # a segment whose identity an odd segmentation cut in two keeps none of it
    cut = lu[:12]
    seg = identity.pseudonymise_l3(cut, key, segment=True)
    assert len(seg) == len(cut) and tmsi[:3] not in seg and seg[:9] == cut[:9]
    assert identity.pseudonymise_l3(cut, key) == cut  # a complete message that short is malformed: as is


def test_a_damaged_key_is_refused_and_a_fresh_one_is_made_whole(tmp_path: Path) -> None:
    """Review (session 4) #15: an empty or short key file (a power cut between create and write) was used
    as it was, making every pseudonym recomputable; processes starting at once on a fresh install could
    read the key half-written or die on the creation race."""
    import multiprocessing as mp

    from fbsdetect.errors import BadInput

    empty = tmp_path / "empty.key"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="0 bytes"):
        identity.load_key(empty)
    (tmp_path / "short.key").write_bytes(b"x" * 7)
    with pytest.raises(BadInput, match="7 bytes"):
        identity.load_key(tmp_path / "short.key")
    for trial in range(8):
        p = tmp_path / f"race{trial}" / "identity.key"
        with mp.get_context("fork").Pool(3) as pool:
            keys = pool.map(identity.load_key, [p] * 3)
        assert len(set(keys)) == 1 and len(keys[0]) == 32 and p.read_bytes() == keys[0]
        assert p.stat().st_mode & 0o777 == 0o600
        assert [q.name for q in p.parent.iterdir()] == ["identity.key"]  # no temporary file left
