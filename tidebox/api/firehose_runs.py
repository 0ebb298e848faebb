"""The delivery streams the endpoint runs: one thread each, running tidebox's delivery
(:func:`tidebox.delivery.runner.run_sink`) until the delivery stream is deleted or the
endpoint stops; either way the buffers are delivered first, as ``tidebox sink run`` does on
SIGTERM.

A new delivery stream is CREATING until its thread consumes its stream, then ACTIVE. If that
first start fails (an unreachable S3 endpoint, say), it is CREATING_FAILED, with the reason in
its FailureDescription, until deleted. Once ACTIVE, a failure (Kafka or S3 gone for a while)
is logged and delivery is tried again, backing off up to a minute, as Firehose keeps retrying:
what was acknowledged waits in Kafka, and the delivery's ledger resumes where it stands.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tidebox.api.context import ApiContext
from tidebox.api.errors import not_found, unavailable
from tidebox.api.firehose_state import DeliveryStreamRecord, owned
from tidebox.api.protocol import ACCOUNT, Request
from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings, SinkSpec

log = logging.getLogger("tidebox.api.firehose")
NAME_PATTERN = r"[a-zA-Z0-9_.-]+"
STOP_TIMEOUT_S = 120.0  # a final flush converts and writes the whole buffer
MAX_BACKOFF_S = 60.0
BUSY_RETRY_S = 2.0  # another process runs it (a second endpoint, 'tidebox sink run')


@dataclass
class DeliveryRun:
    """One delivery stream at work on a thread of the endpoint."""

    record: DeliveryStreamRecord
    spec: SinkSpec
    status: str = "CREATING"
    failure: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _shards: Iterator[int] = field(default_factory=lambda: itertools.cycle([0]))
    _writes: threading.Condition = field(default_factory=threading.Condition)
    _in_flight: int = 0
    _backoff: float = 1.0  # before the next try after a failure; reset once it runs again

    def start(self, settings: Settings) -> None:
        self._shards = itertools.cycle(range(self.record.shards))
        self._thread = threading.Thread(
            target=self._run, args=(settings,), name=f"firehose-{self.spec.name}", daemon=True
        )
        self._thread.start()

    def next_shard(self) -> int:
        """The shard of the next record put: round-robin (Firehose records have no key)."""
        return next(self._shards)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the delivery stream open while a put writes to it; ServiceUnavailable unless
        it is ACTIVE. A delete waits for the puts in flight (:meth:`close_writes`)."""
        with self._writes:
            if self.status != "ACTIVE":
                raise unavailable(
                    f"Firehose {self.spec.name} under account {ACCOUNT} is {self.status}, "
                    "not ACTIVE."
                )
            self._in_flight += 1
        try:
            yield
        finally:
            with self._writes:
                self._in_flight -= 1
                self._writes.notify_all()

    def close_writes(self) -> None:
        """DELETING: refuse new puts, and wait for those in flight to be acknowledged."""
        with self._writes:
            self.status = "DELETING"
            self._writes.wait_for(lambda: self._in_flight == 0)

    def request_stop(self) -> None:
        """Ask the thread to deliver its buffers and end (see :meth:`stop`)."""
        self._stop.set()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask the thread to deliver its buffers and end; wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("delivery stream %s did not stop in %.0f s", self.spec.name, timeout_s)

    def _running(self) -> None:
        with self._writes:
            if self.status == "DELETING":
                return  # a delete closed it: puts stay refused
            if self.status == "CREATING":
                log.info("delivery stream %s is ACTIVE", self.spec.name)
            self.status = "ACTIVE"
            self.failure = None
            self._backoff = 1.0

    def _run(self, settings: Settings) -> None:
        from tidebox.delivery.lock import SinkRunningError
        from tidebox.delivery.runner import run_sink

        while not self._stop.is_set():
            try:
                run_sink(
                    settings,
                    self.spec,
                    until_caught_up=False,
                    stop=self._stop,
                    running=self._running,
                    start_at=self.record.start_at,
                )
                return
            except SinkRunningError as exc:
                log.warning("%s; retrying in %.0f s", exc, BUSY_RETRY_S)
                self._stop.wait(BUSY_RETRY_S)
            except Exception as exc:  # Kafka, S3, or a bug: never let the thread die silently
                if self.status == "CREATING":
                    self.status = "CREATING_FAILED"
                    self.failure = str(exc) or type(exc).__name__
                    log.error("delivery stream %s could not start: %s", self.spec.name, exc)
                    return
                log.warning(
                    "delivery stream %s failed: %s; retrying in %.0f s",
                    self.spec.name,
                    exc,
                    self._backoff,
                    exc_info=not isinstance(exc, TideboxError),
                )
                self._stop.wait(self._backoff)
                self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)


class FirehoseService:
    """The endpoint's delivery streams by name; the app closes it when it stops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs: dict[str, DeliveryRun] = {}
        self.lock = threading.Lock()
        self._reserved: set[str] = set()
        # the names of tidebox.yaml's and built-in delivery streams: not the API's to take
        created = {r.name for r, _ in owned(settings)}
        self.declared = {s.name for s in settings.sinks} - created

    def resume(self) -> None:
        """Run the delivery streams this state folder holds, as they were (ACTIVE)."""
        for record, spec in owned(self.settings):
            run = DeliveryRun(record, spec, status="ACTIVE")
            with self.lock:
                if record.name in self.runs:
                    continue
                self.runs[record.name] = run
            log.info("resuming delivery stream %s", record.name)
            run.start(self.settings)

    def reserve(self, name: str) -> bool:
        """Hold ``name`` while it is being created; False if it is taken."""
        with self.lock:
            if name in self.runs or name in self._reserved:
                return False
            self._reserved.add(name)
            return True

    def release(self, name: str) -> None:
        with self.lock:
            self._reserved.discard(name)

    def add(self, run: DeliveryRun) -> None:
        """Start a created delivery stream (its name was reserved)."""
        with self.lock:
            self._reserved.discard(run.spec.name)
            self.runs[run.spec.name] = run
        run.start(self.settings)

    def find(self, name: str) -> DeliveryRun | None:
        with self.lock:
            return self.runs.get(name)

    def names(self) -> list[str]:
        with self.lock:
            return sorted(self.runs)

    def remove(self, name: str) -> DeliveryRun | None:
        """Stop delivery stream ``name`` (its buffers delivered) and forget it here."""
        with self.lock:
            run = self.runs.pop(name, None)
        if run is not None:
            run.stop()
        return run

    def close(self) -> None:
        """Stop every delivery stream, all at once, each delivering its buffers."""
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            run.request_stop()
        for run in runs:
            run.stop()


def service_of(context: ApiContext) -> FirehoseService:
    """The context's Firehose service, made on first use."""
    with _MADE:
        service = context.services.get("firehose")
        if not isinstance(service, FirehoseService):
            service = context.services["firehose"] = FirehoseService(context.settings)
        return service


_MADE = threading.Lock()


def delivery_stream_name(request: Request) -> str:
    """The DeliveryStreamName of a call, its constraints checked."""
    return request.required_string(
        "DeliveryStreamName", min_length=1, max_length=64, pattern=NAME_PATTERN
    )


def find_run(context: ApiContext, request: Request) -> tuple[FirehoseService, DeliveryRun]:
    """The delivery stream a call names; ResourceNotFoundException as AWS words it if none."""
    service = service_of(context)
    name = delivery_stream_name(request)
    run = service.find(name)
    if run is None:
        raise not_found(f"Firehose {name} under account {ACCOUNT} not found.")
    return service, run
