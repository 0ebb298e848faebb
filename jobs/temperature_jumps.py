"""DataStream API job: a reading whose temperature differs from the same device's previous
reading by more than 5 degrees, with the jump. One keyed state value per device (the previous
reading), in Flink keyed state, so it is checkpointed and restored with the job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.table import DataTypes, StreamTableEnvironment, Table
from pyflink.table.expressions import col

JUMP_DEGREES = 5.0


class TemperatureJumps(KeyedProcessFunction):
    def open(self, context: RuntimeContext) -> None:
        self.previous = context.get_state(ValueStateDescriptor("previous", Types.DOUBLE()))

    def process_element(self, reading: Row, ctx: Any) -> Iterator[Row]:
        temperature = reading["temperature"]
        if temperature is None:
            return
        before = self.previous.value()
        self.previous.update(temperature)
        if before is not None and abs(temperature - before) > JUMP_DEGREES:
            yield Row(reading["device_id"], reading["event_time"], before, temperature)


def build(env: StreamTableEnvironment) -> dict[str, Table]:
    # PyFlink hands a TIMESTAMP (a UTC wall-clock time here) to Python as a datetime
    readings = env.from_path("sensor_readings").select(
        col("device_id"),
        col("event_time").cast(DataTypes.TIMESTAMP(3)).alias("event_time"),
        col("temperature"),
    )
    jumps = (
        env.to_data_stream(readings)
        .key_by(lambda reading: reading["device_id"], key_type=Types.STRING())
        .process(
            TemperatureJumps(),
            output_type=Types.ROW_NAMED(
                ["device_id", "event_time", "previous_temperature", "temperature"],
                [Types.STRING(), Types.SQL_TIMESTAMP(), Types.DOUBLE(), Types.DOUBLE()],
            ),
        )
    )
    return {"temperature_jumps": env.from_data_stream(jumps)}
