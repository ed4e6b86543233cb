"""Monitoring: every request in a log, ``docroute stats``, Prometheus metrics.

- ``store``: the log (``Store``, ``RequestRecord``): a SQLite file (WAL mode) by default, or a
  PostgreSQL database for a team (a ``postgresql://`` URL; the ``postgres`` extra); the same
  numbered migrations (``_schema``) make the schema of both;
- ``recorder``: ``Recorder.record_dispatch`` / ``record_error``, the hook the pipeline calls;
- ``quality``: a cheap online quality score from the cascade checks;
- ``stats``: aggregations per model and per task type, and the adaptive policy's decayed window;
- ``metrics``: Prometheus collectors in a registry per app (prometheus-client loads lazily);
- ``report``: ``docroute stats`` as tables or JSON (``stats_command``).

Nothing here opens a database or reads the environment at import time.
"""

from __future__ import annotations

from .quality import quality_report, quality_score
from .recorder import Recorder
from .stats import RecentStats, StatsReport, compute_stats, parse_since, recent_stats
from .store import RequestRecord, Store, StoreError, default_db_path, input_hash

__all__ = [
    "RecentStats",
    "Recorder",
    "RequestRecord",
    "StatsReport",
    "Store",
    "StoreError",
    "compute_stats",
    "default_db_path",
    "input_hash",
    "parse_since",
    "quality_report",
    "quality_score",
    "recent_stats",
]
