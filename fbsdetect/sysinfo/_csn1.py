"""Walk a pycrate CSN.1 decode as (path, name, value) entries.

pycrate (`pycrate_csn1dir`, LGPL) decodes CSN.1 rest octets into nested value
lists that mirror its object tree; this walker pairs the two so that callers
can pick fields by name ("earfcn" under "repeated_e_utran_neighbour_cells")
without depending on positions in the nested lists. Named nodes are yielded
with value None when entered, so presence of an optional structure is
`any(name == "utran_fdd_description" ...)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from fbsdetect.sysinfo.common import Malformed, MalformedError, header, need

Entry = tuple[tuple[str, ...], str, Any]


def walk(obj: Any, val: Any, path: tuple[str, ...] = ()) -> Iterator[Entry]:
    from pycrate_csn1.csnobj import CSN1Val

    num = obj._num
    if num != 1 and not isinstance(obj, CSN1Val) and isinstance(val, list):
        if type(obj).__name__ == "CSN1Bit":
            yield (path, obj._name or "", val)
            return
        for v in val:
            yield from _walk1(obj, v, path)
        return
    yield from _walk1(obj, val, path)


def _walk1(obj: Any, val: Any, path: tuple[str, ...]) -> Iterator[Entry]:
    kind = type(obj).__name__
    name = obj._name or ""
    if kind == "CSN1Bit":
        yield (path, name, val)
        return
    if kind == "CSN1Val" or val is None:
        return
    sub = (*path, name) if name else path
    if name:
        yield (path, name, None)
    if kind == "CSN1Ref":
        yield from walk(obj._obj, val, sub)
    elif kind == "CSN1List":
        for child, v in zip(obj._list, val, strict=False):
            yield from walk(child, v, sub)
    elif kind == "CSN1Alt":
        if not val:
            return
        alt_name, alt_list = obj._alt[val[0]]
        if alt_name:
            yield (sub, alt_name, None)
        for child, v in zip(alt_list, val[1:], strict=False):
            yield from walk(child, v, sub)


def decode(template: Any, data: bytes) -> list[Entry]:
    """Decode `data` with a clone of the pycrate CSN.1 `template`; raises on failure."""
    obj = template.clone()
    obj.from_bytes(data)
    return list(walk(obj, obj.get_val()))


def decode_rest_octets(frame: bytes, msg_type: int, name: str, template: str) -> list[Entry] | Malformed:
    """Check the header of a message made of rest octets only (SI13,
    SI2quater: octets 3..22) and decode them with pycrate's CSN.1 description
    `pycrate_csn1dir.<template>.<template>` (imported on first use: it is slow
    to load); every failure is a `Malformed` outcome."""
    try:
        header(frame, msg_type, name)
        need(frame, 23, name)
    except MalformedError as e:
        return Malformed(name, str(e), msg_type)
    obj = getattr(importlib.import_module(f"pycrate_csn1dir.{template}"), template)
    try:
        return decode(obj, bytes(frame[3:23]))
    except Exception as e:  # pycrate raises assorted errors on bad CSN.1
        return Malformed(name, f"rest octets: {type(e).__name__}: {e}", msg_type)
