"""The gateway's recording thread: batched writes to a real SQLite request log."""

from __future__ import annotations

import time
from pathlib import Path

from docroute.monitor.metrics import Metrics
from docroute.monitor.recorder import Recorder
from docroute.monitor.store import RequestRecord, Store
from docroute.server._state import Entry, GatewayState


def _entry(i: int) -> Entry:
    record = RequestRecord(ts=time.time(), input_hash=f"{i:064x}", outcome="ok",
                           source="gateway", model="m", latency_ms=1.0 + i)
    return Entry(record, "openai.chat", "auto", stream=False)


def _broken() -> Entry:
    raise RuntimeError("a bug while building one record")


def test_queued_requests_are_written_together_and_a_bad_one_is_skipped(tmp_path: Path) -> None:
    store = Store(tmp_path / "requests.db")
    metrics = Metrics()
    state = GatewayState(Recorder(store, metrics=metrics, source="gateway"), batch_s=0.05)
    try:
        for i in range(50):
            state.submit(lambda i=i: _entry(i))  # type: ignore[misc]
            if i == 10:
                state.submit(_broken)
                state.submit(lambda: None)  # not worth a record
        assert state.flush()
        assert store.count() == 50 and state.total == 50
        assert [e.record.latency_ms for e in state.entries()] == [1.0 + i for i in range(50)]
        assert 'docroute_requests_total{' in metrics.exposition().decode()
        state.submit(lambda: _entry(50))
    finally:
        state.close()  # records what is still queued
        store.close()
    assert Store(tmp_path / "requests.db").count() == 51
