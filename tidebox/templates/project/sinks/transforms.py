"""Transform functions of this project's delivery streams, called as Firehose calls a
data-transformation Lambda: ``function(event, context)``.

Each of ``event["records"]`` holds a ``recordId`` and base64 ``data``; the function answers
every recordId once, with ``result`` Ok (and new base64 ``data``), Dropped or ProcessingFailed,
and may give partition keys for the prefix's ``!{partitionKeyFromLambda:KEY}``. A Lambda written
for Firehose runs here unchanged. A sink names one as ``sinks/transforms.py:keep_anomalies``.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def keep_anomalies(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deliver only the readings labelled anomalous, keyed by their anomaly type."""
    answers = []
    for record in event["records"]:
        try:
            reading = json.loads(base64.b64decode(record["data"]))
        except ValueError:
            answers.append({**record, "result": "ProcessingFailed"})
            continue
        if not reading.get("is_anomaly"):
            answers.append({"recordId": record["recordId"], "result": "Dropped"})
            continue
        kind = reading.get("anomaly_type") or "unknown"
        answers.append(
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": record["data"],
                "metadata": {"partitionKeys": {"type": kind}},
            }
        )
    return {"records": answers}
