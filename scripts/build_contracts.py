"""Rebuild the committed contract artifacts from ``contracts/*.sol``.

Run ``npm ci`` (or ``npm install``) once so that ``node_modules/solc`` exists, then::

    .venv/bin/python scripts/build_contracts.py          # rewrite the artifacts
    .venv/bin/python scripts/build_contracts.py --check  # fail if they are stale

The compiler version and settings are pinned (package.json and ``SETTINGS`` below) so the
same sources always give the same bytecode; each artifact records the sha256 of every
source file so a test can tell, without node, whether the artifacts match the sources.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACTS_DIR = ROOT / "src" / "aitbc" / "contracts" / "artifacts"

# evmVersion pinned: solc 0.8.3x defaults to a fork py-evm and older anvils may not run.
SETTINGS: dict[str, Any] = {
    "evmVersion": "shanghai",
    "optimizer": {"enabled": True, "runs": 200},
    "viaIR": False,
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}

# solcjs reads standard JSON on stdin and writes standard JSON on stdout.
_NODE_COMPILE = """
const solc = require('solc');
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const output = JSON.parse(solc.compile(input));
  process.stdout.write(JSON.stringify({version: solc.version(), output}));
});
"""


def source_hashes() -> dict[str, str]:
    """sha256 of every ``contracts/*.sol`` file, keyed by file name."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(CONTRACTS_DIR.glob("*.sol"))
    }


def compile_sources() -> tuple[str, dict[str, Any]]:
    """Compile all sources with the npm solc; returns (compiler version, solc output)."""
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "solc").is_dir():
        raise SystemExit("needs node and node_modules/solc: run `npm ci` at the repo root")
    sources = {
        path.name: {"content": path.read_text()} for path in sorted(CONTRACTS_DIR.glob("*.sol"))
    }
    request = json.dumps({"language": "Solidity", "sources": sources, "settings": SETTINGS})
    proc = subprocess.run(
        [node, "-e", _NODE_COMPILE], input=request, capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(f"solc failed: {proc.stderr}")
    result = json.loads(proc.stdout)
    errors = [e for e in result["output"].get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    return str(result["version"]), result["output"]


def build_artifacts() -> dict[str, dict[str, Any]]:
    """Compile and return one artifact per deployable contract, keyed by contract name."""
    version, output = compile_sources()
    hashes = source_hashes()
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in sorted(output["contracts"].items()):
        for name, compiled in sorted(contracts.items()):
            bytecode = compiled["evm"]["bytecode"]["object"]
            if not bytecode:  # interfaces and libraries without code
                continue
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": compiled["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "compiler": {"name": "solc", "version": version, "settings": _recorded_settings()},
                "sourceSha256": hashes,
            }
    return artifacts


def _recorded_settings() -> dict[str, Any]:
    return {k: v for k, v in SETTINGS.items() if k != "outputSelection"}


def render(artifact: dict[str, Any]) -> str:
    """The exact text an artifact file holds (stable, so rebuilds diff cleanly)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if artifacts are stale")
    args = parser.parse_args()
    artifacts = build_artifacts()
    stale = [
        name
        for name, artifact in artifacts.items()
        if not (ARTIFACTS_DIR / f"{name}.json").is_file()
        or (ARTIFACTS_DIR / f"{name}.json").read_text() != render(artifact)
    ]
    if args.check:
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        return 1 if stale else 0
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS_DIR.glob("*.json"):
        if old.stem not in artifacts:
            old.unlink()
    for name, artifact in artifacts.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(render(artifact))
    print(f"wrote {len(artifacts)} artifacts to {ARTIFACTS_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
