"""`OutboxSink`: the scan's StoreSink (the node's local SQLite) that also puts every
observation in the outbox, as a record for the server, and pings the systemd
watchdog on the scan's progress (flush comes at least once a second)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fbsdetect.node.outbox import Outbox
from fbsdetect.store.sink import StoreSink, _jsonable
from fbsdetect.types import CellObservation, L2Frame


def observation_payload(obs: CellObservation, node: str, *, radio_s: float | None,
                        kind: str) -> dict[str, Any]:
    d: dict[str, Any] = _jsonable(obs.to_json())
    d["sensor"] = node
    d["radio_s"] = None if radio_s is None else float(radio_s)
    d["kind"] = kind
    return d


class OutboxSink(StoreSink):
    def __init__(self, store: Any, outbox: Outbox, *, node: str, on_progress: Any = None) -> None:
        super().__init__(store, sensor=node, sensor_kind="node")
        self.outbox = outbox
        self.node = node
        self.on_progress = on_progress
        self.last_observation: CellObservation | None = None
        self.n_observations = 0

    def observation(self, obs: CellObservation, *, radio_s: float | None = None,
                    tuning_id: int | None = None, kind: str = "dwell",
                    frames: Sequence[L2Frame] = (), with_rows: Sequence[Any] = ()) -> int:
        self._critical = True  # a SIGTERM from here to the outbox record waits (defer_interrupt)
        try:
            # the outbox record is committed in the observation's own transaction: a kill -9 or a
            # power cut can no longer leave a stored observation that is never sent (review #2)
            rec = self.outbox.record("observation",
                                     observation_payload(obs, self.node, radio_s=radio_s, kind=kind))
            oid = super().observation(obs, radio_s=radio_s, tuning_id=tuning_id, kind=kind, frames=frames,
                                      with_rows=[rec, *with_rows])
            self.outbox.added += 1
            self.outbox.changed.set()
        finally:
            self._critical = False
        self.last_observation = obs
        self.n_observations += 1
        if self._interrupt_pending:
            self._interrupt_pending = False
            raise KeyboardInterrupt
        return oid

    _critical = False
    _interrupt_pending = False

    def defer_interrupt(self) -> bool:
        """For the SIGTERM handler (it runs in the main thread, which is the one storing): True,
        and the KeyboardInterrupt is raised when the observation and its outbox record are both
        committed, when the handler came between the two; else False (raise now)."""
        if self._critical:
            self._interrupt_pending = True
            return True
        return False

    def flush(self) -> None:
        super().flush()
        if self.on_progress is not None:
            self.on_progress()
