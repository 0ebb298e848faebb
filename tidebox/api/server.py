"""Serve the endpoint with uvicorn on 127.0.0.1: in the foreground (``tidebox api``, and the
detached process ``tidebox up`` starts), or on a thread of the calling process."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from tidebox.api.app import make_app
from tidebox.core.errors import RuntimeStartError
from tidebox.core.settings import Settings

HOST = "127.0.0.1"


def _server(settings: Settings, port: int | None = None) -> uvicorn.Server:
    config = uvicorn.Config(
        make_app(settings),
        host=HOST,
        port=settings.api_port if port is None else port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    return uvicorn.Server(config)


def check_port_free(port: int) -> None:
    """Fail with one clear line when another program holds the port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise RuntimeStartError(
                f"port {port} on {HOST} is taken by another program: set api_port / "
                "TIDEBOX_API_PORT or --port"
            ) from exc


def serve(settings: Settings) -> None:
    """Answer calls until interrupted (SIGINT or SIGTERM end it cleanly)."""
    check_port_free(settings.api_port)
    server = _server(settings)
    server.run()
    if not server.started:
        raise RuntimeStartError(f"the endpoint could not listen on {HOST}:{settings.api_port}")


@dataclass
class ServerThread:
    """An endpoint running on a thread of this process (tests, notebooks)."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def start_in_thread(
    settings: Settings, port: int | None = None, timeout_s: float = 30
) -> ServerThread:
    """Start the endpoint on a thread and return once it accepts connections."""
    server = _server(settings, port)
    thread = threading.Thread(target=server.run, name="tidebox-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeStartError(f"the endpoint did not start on {HOST}:{server.config.port}")
        time.sleep(0.05)
    return ServerThread(server, thread, f"http://{HOST}:{server.config.port}")
