"""PyFlink's loopback worker server listens on 127.0.0.1 only."""

from __future__ import annotations

import socket

from tidebox.flink.loopback import bind_loopback_server_to_localhost


def test_loopback_server_binds_to_localhost() -> None:
    bind_loopback_server_to_localhost()
    from pyflink.fn_execution.beam.beam_worker_pool_service import (
        BeamFnLoopbackWorkerPoolServicer,
    )

    address = BeamFnLoopbackWorkerPoolServicer().start()
    host, _, port = address.rpartition(":")
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=2):
        pass  # it really listens there
