"""Session fixtures: one real Kafka broker and one S3 server for the whole run.

The broker is tidebox's own embedded one, started on a free port with its jars cached under
``.tidebox/test`` (fetched with Maven on the first run). Tests that need Kafka take the
``kafka_settings`` fixture; each uses stream names of its own, so they never see each
other's records. Helpers live in :mod:`tests.support`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import S3_CREDENTIALS, TEST_STATE, free_port, free_port_pair, wait_for
from tidebox.core.settings import Settings
from tidebox.runtime import start_broker, stop_broker


@pytest.fixture(scope="session")
def kafka_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a real embedded Kafka broker started once for the session."""
    shutil.rmtree(TEST_STATE / "kafka", ignore_errors=True)
    settings = Settings(
        state_dir=TEST_STATE,
        kafka_port=free_port_pair(),
        api_port=free_port(),
        bucket=tmp_path_factory.mktemp("bucket"),
    )
    start_broker(settings)
    try:
        yield settings
    finally:
        stop_broker(settings)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 HTTP server on 127.0.0.1 (moto in server mode), for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    server = Path(sys.executable).parent / "moto_server"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=output
        )
    saved = {k: os.environ.get(k) for k in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)

    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server did not start: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_for(listening, 30, f"moto_server to listen on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
