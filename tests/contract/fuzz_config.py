"""The schemathesis configuration for fuzzing a live node: every check on, and the few
refusals JSON Schema cannot express, each with its reason.
"""

from __future__ import annotations

import json
import re

#: Statuses schemathesis accepts for schema-valid requests before any additions below.
DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
#: ... and for schema-violating ones.
DEFAULT_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429"]
#: Statuses every operation may answer whatever its body's schema says, and why.
ANY_BODY: dict[str, str] = {
    # JSON Schema bounds each value, not the serialised size: a body within every
    # maxLength (1000 chat messages of 1e6 characters) or just past one can still be over
    # the node's max_body_bytes setting, which is refused before the body is read.
    "413": "a body over the node's max_body_bytes",
}

#: Operation -> (extra statuses a schema-valid request may get, why the schema can't say).
SEMANTIC_REFUSALS: dict[str, tuple[list[str], str]] = {
    "GET /v1/jobs": (["422"], "cursor is opaque: only cursors the node handed out decode"),
    "GET /v1/marketplace/offers": (["422"], "opaque cursor"),
    "GET /v1/marketplace/bids": (["422"], "opaque cursor"),
    "GET /v1/wallet/history": (["422"], "opaque cursor"),
    "GET /v1/keys": (["422"], "opaque cursor"),
    "GET /v1/admin/audit": (["422"], "opaque cursor"),
    "GET /v1/jobs/{job_id}/result": (["425"], "a job has a result only once COMPLETED"),
    "POST /v1/jobs": (["402", "422"], "funds; job types the node knows"),
    "POST /v1/wallet/transfer": (["402", "422"], "funds; no transfer to oneself"),
    "POST /v1/marketplace/bids": (["422"], "units at most the offer's capacity"),
    "POST /v1/miners/register": (["422"], "public_key must be a valid Ed25519 point"),
    "POST /v1/miners/jobs/{job_id}/result": (["422"], "the attestation signature must verify"),
    "POST /v1/miners/jobs/{job_id}/output": (
        ["422"],
        "integers nested in free-form chunk JSON must lie within +-2**53-1 (JSON Schema "
        "calls 1e300 an integer too, so bounding them would refuse floats the node takes)",
    ),
    "PUT /v1/blobs/{sha256}/parts/{idx}": (
        ["422"],
        "a base64 string at maxLength may decode to 1-2 bytes more than a part holds",
    ),
    "POST /v1/blobs/{sha256}/complete": (
        ["422"],
        "size must match the parts uploaded before, and the bytes must hash to the id",
    ),
    "POST /v1/chat/completions": (
        ["402", "422"],
        "funds; max_tokens at most the cheapest live offer's limit",
    ),
}

#: Operation -> extra TOML settings.
EXTRA_SETTINGS: dict[str, list[str]] = {
    # a miner's long-poll rightly holds the request for up to wait_seconds (at most 30)
    "POST /v1/miners/poll": ["checks.max_response_time = 35"],
}

#: Routes served by another key's role: fuzzed with that key.
ROLE_PATHS = {
    "admin": "^/v1/admin/",
    "miner": "^/v1/miners/|^/v1/marketplace/offers$|^/v1/marketplace/offers/[^/]+/close$",
}


def _toml(value: object) -> str:
    return json.dumps(value)  # JSON strings and arrays are valid TOML values


def role_of(path: str) -> str:
    """The role whose key fuzzes ``path`` (clients by default)."""
    for role, regex in ROLE_PATHS.items():
        if re.search(regex, path):
            return role
    return "client"


def config_toml(keys: dict[str, str], skip_path_regex: str | None = None) -> str:
    """schemathesis.toml text: each route fuzzed with a key of the role it serves.

    The most specific ``[[operations]]`` entries come first (one entry per operation
    carries everything that operation needs).
    """
    lines = [
        "continue-on-failure = true",
        # a miner's long-poll may rightly wait its full wait_seconds (at most 30)
        "request-timeout = 40",
        "[generation]",
        # NUL is refused in every string by design (PostgreSQL cannot store it); text
        # fields say so with a pattern, but free-form JSON (payload, result) cannot.
        "allow-x00 = false",
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {_toml([*DEFAULT_ACCEPTED, *ANY_BODY])}",
        "[checks.negative_data_rejection]",
        f"expected-statuses = {_toml([*DEFAULT_REJECTED, *ANY_BODY, '5xx'])}",
        "[headers]",
        f"X-API-Key = {_toml(keys['client'])}",
    ]
    if skip_path_regex:
        lines += ["[[operations]]", f"include-path-regex = {_toml(skip_path_regex)}"]
        lines += ["enabled = false"]
    for name in sorted(set(SEMANTIC_REFUSALS) | set(EXTRA_SETTINGS)):
        key = keys[role_of(name.split(" ", 1)[1])]
        lines += [
            "[[operations]]",
            f"include-name = {_toml(name)}",
            f"headers = {{ X-API-Key = {_toml(key)} }}",
            *EXTRA_SETTINGS.get(name, []),
        ]
        if name in SEMANTIC_REFUSALS:
            statuses = [*DEFAULT_ACCEPTED, *ANY_BODY, *SEMANTIC_REFUSALS[name][0]]
            lines.append("checks.positive_data_acceptance.expected-statuses = " + _toml(statuses))
    for role, regex in ROLE_PATHS.items():
        lines += [
            "[[operations]]",
            f"include-path-regex = {_toml(regex)}",
            f"headers = {{ X-API-Key = {_toml(keys[role])} }}",
        ]
    return "\n".join(lines) + "\n"
