"""docs/protocol.md (the human guide) and /openapi.json (the machine contract) agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aitbc.node.app import create_app
from aitbc.node.settings import NodeSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
#: Documented elsewhere in the guide, not operations of /openapi.json.
NOT_OPERATIONS = {"GET /openapi.json"}
#: Answered by the router for any path, not declared per operation.
ROUTER_STATUSES = {405}


def normalise(method: str, path: str) -> str:
    bare = re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])
    return f"{method} {bare}"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    app = create_app(NodeSettings(database_url="sqlite+aiosqlite:///:memory:"))
    return app.openapi()


def doc_routes() -> set[str]:
    text = DOC.read_text()
    found = re.findall(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s`)]*)", text)
    routes = {normalise(m, p) for m, p in found}
    # /settlement/* is the settlement service's protocol, not the node's
    return {r for r in routes if not r.split(" ", 1)[1].startswith("/settlement")} - NOT_OPERATIONS


def test_every_route_is_in_both(openapi: dict[str, Any]) -> None:
    spec = {
        normalise(method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
    }
    assert doc_routes() == spec


def test_error_statuses_agree(openapi: dict[str, Any]) -> None:
    table = re.search(r"\| status \| codes \|\n\|---\|---\|\n((?:\|.*\n)+)", DOC.read_text())
    assert table, "the error table in docs/protocol.md"
    documented = {int(row.split("|")[1]) for row in table.group(1).splitlines()}
    declared = {
        int(status)
        for operations in openapi["paths"].values()
        for operation in operations.values()
        for status in operation["responses"]
        if int(status) >= 400
    }
    assert documented == declared | ROUTER_STATUSES


def test_every_error_status_carries_the_envelope(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (
                    method,
                    path,
                    status,
                )


def test_money_is_a_decimal_string_everywhere(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    money = {
        ("Job", "price"),
        ("Transfer", "amount"),
        ("Balance", "balance"),
        ("Offer", "price_per_unit"),
        ("JobCreate", "price"),
        ("TransferCreate", "amount"),
        ("Faucet", "amount"),
        ("OfferCreate", "price_per_unit"),
        ("BidCreate", "price_per_unit"),
    }
    for model, field in money:
        prop = schemas[model]["properties"][field]
        assert prop["type"] == "string" and prop["pattern"].startswith("^"), (model, prop)


def test_states_and_roles_are_enums(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert schemas["JobState"]["enum"] == [
        "QUEUED",
        "RUNNING",
        "COMPLETED",
        "FAILED",
        "CANCELED",
        "EXPIRED",
    ]
    assert schemas["Role"]["enum"] == ["client", "miner", "admin"]
    assert set(schemas["OfferState"]["enum"]) == {"open", "closed"}


def test_api_key_and_idempotency_key_are_declared(openapi: dict[str, Any]) -> None:
    assert openapi["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    create = openapi["paths"]["/v1/jobs"]["post"]
    assert {"APIKeyHeader": []} in create["security"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
