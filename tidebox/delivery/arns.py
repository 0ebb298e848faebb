"""The sandbox's ARNs: one account and one region, and one way to write an ARN.

Error documents, the transform's event and its Lambda context all name AWS resources; they
name them here, so that the same function or delivery stream has the same ARN everywhere.
"""

from __future__ import annotations

ACCOUNT = "000000000000"  # the account every sandbox resource belongs to
REGION = "local"  # the region every sandbox resource is in


def arn(service: str, resource: str) -> str:
    """The ARN of ``resource`` (e.g. ``function:enrich``) of ``service`` (e.g. ``lambda``)."""
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"
