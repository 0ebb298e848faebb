"""The runtime: the embedded Kafka broker and the jars tidebox fetches for it and for Flink."""

from tidebox.runtime.kafka_broker import BrokerStatus, broker_status, start_broker, stop_broker
from tidebox.runtime.maven import flink_connector_jars, kafka_broker_jars

__all__ = [
    "BrokerStatus",
    "broker_status",
    "flink_connector_jars",
    "kafka_broker_jars",
    "start_broker",
    "stop_broker",
]
