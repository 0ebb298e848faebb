"""The standalone Flink cluster's configuration (a job run on one: tests/test_readme.py)."""

from __future__ import annotations

import socket


def free_port_block(size: int = 50) -> int:
    """A port p with p .. p + size free: the cluster uses p (REST), p + 42 and p + 43."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + size >= 65535:
            continue
        try:
            for offset in (42, 43):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no free ports")


def test_every_address_of_the_cluster_is_loopback() -> None:
    """The job run on a real cluster is tested by the README's cluster block
    (tests/test_readme.py), which starts one with ``tidebox flink up``."""
    import yaml

    from tidebox.runtime.flink_cluster import cluster_config, cluster_url

    config = yaml.safe_load(cluster_config(8091, 4))
    assert cluster_url(8091) == "http://127.0.0.1:8091"
    assert config["jobmanager"]["bind-host"] == config["taskmanager"]["host"] == "127.0.0.1"
    assert config["rest"]["bind-address"] == config["jobmanager"]["rpc"]["address"] == "127.0.0.1"
    assert (config["jobmanager"]["rpc"]["port"], config["blob"]["server"]["port"]) == (8133, "8134")
    assert config["taskmanager"]["numberOfTaskSlots"] == 4
