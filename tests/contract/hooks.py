"""Schemathesis hooks for Kinga's contract test (tests/all/serve/contract.rs).

The OpenAPI document describes a report's JSON Lines body as an array of
cases, one per line; Schemathesis has no serializer for
application/x-ndjson, so this one writes each generated item on its own
line (and passes raw bytes through untouched).
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def json_lines(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode("utf-8")
