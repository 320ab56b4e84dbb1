"""Fuzzing the HTTP API from its own OpenAPI spec (schemathesis): whatever a node or an
investigator sends, the answer is never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402

from fbsdetect.server.app import create_app  # noqa: E402
from fbsdetect.server.auth import add_user, register_node  # noqa: E402
from fbsdetect.store import open_store  # noqa: E402

_DIR = Path(__import__("tempfile").mkdtemp(prefix="fbsdetect-fuzz-"))
_STORE = open_store(f"sqlite:///{_DIR / 'fuzz.db'}")
_TOKENS = {"node": register_node(_STORE, "fuzz-node")["token"],
           "investigator": add_user(_STORE, "ivy", "investigator")}
APP = create_app(_STORE)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("role", ["node", "investigator"])
def test_no_server_errors(case: Any, role: str) -> None:
    if "evidence" in case.path or case.path.startswith("/dashboard/map"):
        pytest.skip("slow outputs (evidence zip, the map) are tested elsewhere")
    resp = case.call(headers={"Authorization": f"Bearer {_TOKENS[role]}"})
    assert resp.status_code < 500, (case.method, case.path, resp.status_code, resp.text[:300])


def test_ingest_fuzz_as_the_node_itself() -> None:
    """Hypothesis-made records with the node's own name: 2xx or 4xx, the database intact."""
    from fastapi.testclient import TestClient
    from hypothesis import given
    from hypothesis import strategies as st

    c = TestClient(APP)
    h = {"Authorization": f"Bearer {_TOKENS['node']}"}
    scalar = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
              | st.text(max_size=20))
    data = st.dictionaries(st.sampled_from(["arfcn", "bsic", "mcc", "lat", "lon", "time", "si", "params",
                                            "power_dbm", "kind", "band", "x"]),
                           scalar | st.dictionaries(st.text(max_size=5), scalar, max_size=3), max_size=8)
    rec = st.fixed_dictionaries({"node": st.just("fuzz-node"), "seq": st.integers(-5, 2**63),
                                 "kind": st.sampled_from(["observation", "detection", "health", "x"]),
                                 "data": data})

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(rec, max_size=5))
    def run(recs: list[dict[str, Any]]) -> None:
        r = c.post("/api/v1/ingest", json={"records": recs}, headers=h)
        assert r.status_code in (200, 413, 422), (r.status_code, r.text[:300])

    run()
    assert c.get("/healthz").status_code == 200
