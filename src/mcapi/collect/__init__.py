"""Log collection that never loses or duplicates a record: ``mcapi collect`` as a library.

::

    from mcapi.client import Client
    from mcapi.collect import Collector, DirectorySink, FileCheckpoints, make_source

    sink = DirectorySink("logs")
    collector = Collector(
        [make_source("siem", quarantine="logs/quarantine"), make_source("audit")],
        sink,
        FileCheckpoints("logs/.checkpoints"),
    )
    with Client.from_env(event_hook=collector.on_attempt) as client:
        stats = collector.run(client)  # until every stream is caught up
    sink.close()

Each record is written once, as JSON with its ``id``, ``stream``, ``source`` and ``record``;
checkpoints move only after the sink made the records durable. docs/collect.md has the id scheme,
the overlap margin of time-window streams and the checkpoint protocol.
"""

from mcapi.collect._checkpoint import (
    CheckpointStore,
    FileCheckpoints,
    LeaseLost,
    PostgresCheckpoints,
    StreamBusy,
)
from mcapi.collect._collector import Collector, explain
from mcapi.collect._records import BadFile, OutRecord, parse_siem_file
from mcapi.collect._sinks import DirectorySink, HecSink, Sink, SinkError, StdoutSink
from mcapi.collect._sources import (
    DEFAULT_MARGIN,
    DEFAULT_WINDOW,
    STREAMS,
    Batch,
    Quarantined,
    SiemSource,
    Source,
    WindowSource,
    make_source,
)
from mcapi.collect._stats import CollectEvent, StreamStats

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_WINDOW",
    "STREAMS",
    "BadFile",
    "Batch",
    "CheckpointStore",
    "CollectEvent",
    "Collector",
    "DirectorySink",
    "FileCheckpoints",
    "HecSink",
    "LeaseLost",
    "OutRecord",
    "PostgresCheckpoints",
    "Quarantined",
    "SiemSource",
    "Sink",
    "SinkError",
    "Source",
    "StdoutSink",
    "StreamBusy",
    "StreamStats",
    "WindowSource",
    "explain",
    "make_source",
    "parse_siem_file",
]
