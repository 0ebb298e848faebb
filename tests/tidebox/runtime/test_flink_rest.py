"""What tidebox makes of Flink REST answers: a failed savepoint's cause in one line."""

from __future__ import annotations

from tidebox.runtime.flink_rest import savepoint_failure

TRACE = """java.util.concurrent.CompletionException: java.util.concurrent.CompletionException: x
\tat java.base/java.util.concurrent.CompletableFuture.encodeThrowable(CompletableFuture.java:332)
Caused by: java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.Check
Caused by: org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint triggering task \
Source: sensor_readings (1/1) of job 4532 is not being executed at the moment.
\tat org.apache.flink.runtime.checkpoint.DefaultCheckpointPlanCalculator.checkTasksStarted(x)
"""


def test_the_innermost_cause_names_the_reason() -> None:
    operation = {"failure-cause": {"class": "java.util.concurrent.CompletionException"}}
    assert savepoint_failure(operation) == "java.util.concurrent.CompletionException"
    operation["failure-cause"]["stack-trace"] = TRACE
    assert savepoint_failure(operation).startswith(
        "org.apache.flink.runtime.checkpoint.CheckpointException"
    )
    assert savepoint_failure(operation).endswith("is not being executed at the moment.")
