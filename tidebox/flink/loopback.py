"""Keep PyFlink's local Python worker server on the loopback interface.

On a local mini-cluster PyFlink starts a gRPC "loopback" server through which Flink reaches
Python UDF workers. PyFlink 2.2 binds it to every interface ([::]); tidebox binds only to
127.0.0.1, so the server's ``start`` is replaced by one that listens on 127.0.0.1 alone.
"""

from __future__ import annotations

from typing import Any

_patched = False


def bind_loopback_server_to_localhost() -> None:
    """Patch PyFlink's loopback worker-pool server once per process."""
    global _patched
    if _patched:
        return
    import atexit

    import grpc
    from apache_beam.portability.api import beam_fn_api_pb2_grpc
    from apache_beam.utils import thread_pool_executor
    from pyflink.fn_execution.beam import beam_worker_pool_service as pool

    def start_on_localhost(self: Any) -> str:
        if not self._worker_address:
            server = grpc.server(thread_pool_executor.shared_unbounded_instance())
            port = server.add_insecure_port("127.0.0.1:0")
            beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(self, server)
            server.start()
            atexit.register(server.stop, 1)
            self._worker_address = f"127.0.0.1:{port}"
        return str(self._worker_address)

    pool.BeamFnLoopbackWorkerPoolServicer.start = start_on_localhost
    _patched = True
