"""The compiled settlement contracts (ABI + bytecode), as committed under ``artifacts/``.

``scripts/build_contracts.py`` rebuilds the artifacts from ``contracts/*.sol``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from aitbc.errors import ConfigurationError

__all__ = ["ContractArtifact", "artifact_names", "load_artifact"]


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract: its ABI, creation bytecode and provenance."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    source_sha256: dict[str, str]


def artifact_names() -> list[str]:
    """Names of all committed artifacts, sorted."""
    folder = resources.files(__package__).joinpath("artifacts")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


@cache
def load_artifact(name: str) -> ContractArtifact:
    """Load the artifact of contract ``name``; raises ConfigurationError if there is none."""
    path = resources.files(__package__).joinpath("artifacts", f"{name}.json")
    if not path.is_file():
        raise ConfigurationError(f"no compiled artifact named {name!r}")
    raw = json.loads(path.read_text())
    return ContractArtifact(
        name=raw["contractName"],
        abi=raw["abi"],
        bytecode=raw["bytecode"],
        deployed_bytecode=raw["deployedBytecode"],
        compiler_version=raw["compiler"]["version"],
        source_sha256=raw["sourceSha256"],
    )
