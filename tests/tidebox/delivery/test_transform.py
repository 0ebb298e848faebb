"""The transform hook: a Firehose Lambda handler runs as is, and its rules are enforced."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from tidebox.core.errors import ConfigError
from tidebox.delivery.lambda_context import LambdaContext
from tidebox.delivery.transform import Transformer, function_name, load_function

HANDLER = '''
import base64, json

CALLS = []

def handler(event, context):
    """Upper-case the device, drop device 'skip', fail device 'bad', key by site."""
    CALLS.append(len(event["records"]))
    out = []
    for record in event["records"]:
        data = json.loads(base64.b64decode(record["data"]))
        if data["device"] == "skip":
            out.append({"recordId": record["recordId"], "result": "Dropped"})
        elif data["device"] == "bad":
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed",
                        "data": record["data"]})
        else:
            data["device"] = data["device"].upper()
            out.append({"recordId": record["recordId"], "result": "Ok",
                        "data": base64.b64encode(json.dumps(data).encode()).decode(),
                        "metadata": {"partitionKeys": {"site": "north"}}})
    return {"records": out}

def raises(event, context):
    raise RuntimeError("boom")

def forgets(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
                        for r in event["records"][1:]]}

def doubles(event, context):
    first = event["records"][0]
    answer = {"recordId": first["recordId"], "result": "Ok", "data": first["data"]}
    return {"records": [answer, answer]}

def strange(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Maybe"} for r in event["records"]]}

def nothing(event, context):
    return None
'''


@pytest.fixture
def module(tmp_path: Path) -> Path:
    path = tmp_path / "processor.py"
    path.write_text(HANDLER)
    return path


def values(*devices: str) -> list[bytes]:
    return [json.dumps({"device": d}).encode() for d in devices]


def test_a_lambda_handler_transforms_drops_and_fails_records(module: Path) -> None:
    outcomes = Transformer(f"{module}:handler", "ds").transform(
        values("a", "skip", "bad"), [1, 2, 3]
    )
    assert [o.result for o in outcomes] == ["Ok", "Dropped", "ProcessingFailed"]
    assert json.loads(outcomes[0].data) == {"device": "A"}
    assert outcomes[0].partition_keys == {"site": "north"}
    assert outcomes[2].error_code == "Lambda.ProcessingFailed"
    assert json.loads(outcomes[2].data) == {"device": "bad"}


@pytest.mark.parametrize(
    ("function", "code", "words"),
    [
        ("raises", "Lambda.FunctionError", "raised RuntimeError('boom')"),
        ("forgets", "Lambda.MissingRecordId", "did not answer 1 of 2 recordIds"),
        ("doubles", "Lambda.DuplicatedRecordId", "twice"),
        ("strange", "Lambda.InvalidReturnValue", "has result 'Maybe'"),
        ("nothing", "Lambda.InvalidReturnValue", "must return {'records'"),
    ],
)
def test_a_broken_call_fails_the_whole_batch_after_its_retries(
    module: Path, function: str, code: str, words: str
) -> None:
    outcomes = Transformer(f"{module}:{function}", "ds", retries=2).transform(
        values("a", "b"), [1, 2]
    )
    assert {o.result for o in outcomes} == {"ProcessingFailed"}
    assert {o.error_code for o in outcomes} == {code}
    assert words in outcomes[0].error_message
    assert outcomes[0].attempts == 3


def test_the_event_has_lambda_shape(module: Path) -> None:
    seen = []

    def spy(event: dict, context: object) -> dict:
        seen.append(event)
        return {
            "records": [{"recordId": r["recordId"], "result": "Dropped"} for r in event["records"]]
        }

    transformer = Transformer(f"{module}:handler", "ds")
    transformer.function = spy
    transformer.transform(values("a"), [1767225600000])
    record = seen[0]["records"][0]
    assert set(seen[0]) == {"invocationId", "deliveryStreamArn", "region", "records"}
    assert record["approximateArrivalTimestamp"] == 1767225600000
    assert json.loads(base64.b64decode(record["data"])) == {"device": "a"}


CONTEXT_HANDLER = '''
import base64, json, time

def handler(event, context):
    """Stamp each record with what Firehose Lambdas read from their context."""
    before = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    after = context.get_remaining_time_in_millis()
    stamp = {
        "request": context.aws_request_id, "before": before, "after": after,
        "name": context.function_name, "version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": "MB: " + context.memory_limit_in_mb,  # a str, as in Lambda's runtime
        "group": context.log_group_name, "stream": context.log_stream_name,
        "identity": context.identity.cognito_identity_id, "client": context.client_context,
    }
    return {"records": [{"recordId": r["recordId"], "result": "Ok",
                         "data": base64.b64encode(json.dumps(stamp).encode()).decode()}
                        for r in event["records"]]}
'''


def test_the_transform_gets_a_lambda_context(tmp_path: Path) -> None:
    path = tmp_path / "enrich.py"
    path.write_text(CONTEXT_HANDLER)
    transformer = Transformer(f"{path}:handler", "ds")
    first = json.loads(transformer.transform(values("a"), [1])[0].data)
    second = json.loads(transformer.transform(values("b"), [2])[0].data)
    assert str(uuid.UUID(first["request"])) == first["request"]
    assert first["request"] != second["request"]  # a new invocation, a new request id
    assert 2_900 < first["before"] <= 3_000  # Lambda's default timeout: 3 s
    assert first["before"] - first["after"] >= 40  # the clock runs down
    assert first["name"] == "enrich" and first["version"] == "$LATEST"
    assert first["arn"] == "arn:aws:lambda:local:000000000000:function:enrich"
    assert first["memory"] == "MB: 128"
    assert first["group"] == "/aws/lambda/enrich" and "[$LATEST]" in first["stream"]
    assert first["identity"] is None and first["client"] is None


def test_the_context_clock_stops_at_zero() -> None:
    context = LambdaContext("f", timeout_ms=0)
    assert context.get_remaining_time_in_millis() == 0
    assert function_name("processors.enrich:handler") == "enrich"


def test_functions_are_named_by_module_or_file(module: Path) -> None:
    assert load_function("json:dumps") is json.dumps
    assert callable(load_function(f"{module}:handler"))
    for reference, message in [
        ("nocolon", "expected module:function"),
        ("no_such_module_x:f", "import failed"),
        (f"{module}:missing", "has no function 'missing'"),
        ("/nowhere/p.py:f", "not found"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_function(reference)
