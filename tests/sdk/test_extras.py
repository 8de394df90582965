"""Install only what you use: every public name imports on the core install, and a
feature whose extra is missing says, on first use, which extra to install.

Each case runs in a fresh interpreter whose extras' packages are hidden by a
``sys.meta_path`` finder (see blocked_imports.py); the wheel-level check, with real
venvs per extra, is scripts/check_install.py.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from aitbc import MissingExtraError
from aitbc._extras import EXTRA_MODULES, missing_extra_error, unavailable_class

from .blocked_imports import CORE_ONLY, DEVNET_ONLY, run_without

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _json_result(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_core_install_imports_every_public_name() -> None:
    done = run_without(
        CORE_ONLY,
        """
import json
import aitbc
from aitbc import CrossChainTransport, BridgeManager, AITBCClient, WebSocketTransport
resolved = [name for name in aitbc.__all__ if getattr(aitbc, name) is not None]
print(json.dumps({"resolved": resolved, "all": aitbc.__all__}))
""",
    )
    result = _json_result(done)
    assert result["resolved"] == result["all"]


def test_the_sdk_imports_no_extra_it_does_not_use() -> None:
    # every extra installed: what gets imported is what the code asks for
    done = run_without(
        (),
        """
import json, sys
import aitbc
bare = sorted(m for m in ("pydantic", "aiohttp") if m in sys.modules)
from aitbc import AITBCClient, HTTPTransport, WebSocketTransport, CrossChainTransport
extras = ("web3", "sqlalchemy", "fastapi", "uvicorn", "typer", "rich", "eth_tester")
print(json.dumps({"bare": bare, "extras": sorted(m for m in extras if m in sys.modules)}))
""",
    )
    result = _json_result(done)
    assert result["bare"] == []  # ``import aitbc`` alone loads nothing heavy
    # CrossChainTransport needs settlement's web3/sqlalchemy, never the node, cli or devnet
    assert not set(result["extras"]) & {"fastapi", "uvicorn", "typer", "rich", "eth_tester"}


def test_crosschain_without_settlement_says_which_extra_on_first_use() -> None:
    done = run_without(
        CORE_ONLY,
        """
import json
import aitbc
from aitbc import CrossChainTransport, MissingExtraError, create_transport

answers = {}
for label, use in {
    "construct": lambda: CrossChainTransport({}),
    "class attribute": lambda: CrossChainTransport.connect,
    "manager": lambda: aitbc.BridgeManager(),
    "registry": lambda: create_transport({"type": "crosschain"}),
}.items():
    try:
        use()
    except MissingExtraError as exc:
        answers[label] = [str(exc), exc.extra, isinstance(exc, ImportError)]
print(json.dumps({"answers": answers, "known": aitbc.known_transport_types()}))
""",
    )
    result = _json_result(done)
    assert set(result["answers"]) == {"construct", "class attribute", "manager", "registry"}
    for message, extra, is_import_error in result["answers"].values():
        assert extra == "settlement"
        assert "pip install 'aitbc[settlement]'" in message
        assert "\n" not in message
        assert is_import_error
    assert "crosschain" not in result["known"]
    assert {"http", "websocket", "failover"} <= set(result["known"])


def test_settlement_without_devnet_reads_devnet_configs_but_runs_no_chain() -> None:
    done = run_without(
        DEVNET_ONLY,
        """
import json
from aitbc import CrossChainTransport, MissingExtraError, Transport, known_transport_types
from aitbc.devnet.config import DevnetConfig
import aitbc.devnet

try:
    aitbc.devnet.Devnet
except MissingExtraError as exc:
    error = [str(exc), exc.extra]
else:
    error = None
print(json.dumps({
    "real": issubclass(CrossChainTransport, Transport),
    "known": known_transport_types(),
    "devnet": error,
}))
""",
    )
    result = _json_result(done)
    assert result["real"] is True
    assert "crosschain" in result["known"]
    message, extra = result["devnet"]
    assert extra == "devnet"
    assert "pip install 'aitbc[devnet]'" in message


def test_a_bug_inside_an_extra_module_is_not_reported_as_a_missing_extra() -> None:
    # aiohttp is core: its absence is a broken install, not an extra to suggest.
    bug = ModuleNotFoundError("No module named 'aiohttp'", name="aiohttp")
    assert missing_extra_error(bug, "thing", "settlement") is None
    missing = ModuleNotFoundError("No module named 'web3.contract'", name="web3.contract")
    error = missing_extra_error(missing, "thing", "settlement")
    assert error is not None and error.missing == "web3"


def test_a_stand_in_raises_on_use_but_not_on_introspection() -> None:
    error = MissingExtraError("aitbc.Thing", "settlement", "web3")
    stand_in = unavailable_class("Thing", error)
    assert stand_in.__name__ == "Thing"
    assert not hasattr(stand_in, "__wrapped__")  # dunder probes see a plain AttributeError
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'aitbc[settlement]'")):
        stand_in()
    with pytest.raises(MissingExtraError):
        stand_in.connect  # noqa: B018


def test_several_extras_are_named_together() -> None:
    error = MissingExtraError("aitbc demo", "node,devnet", "uvicorn")
    assert str(error) == (
        "aitbc demo needs the node and devnet extras: pip install 'aitbc[node,devnet]' "
        "(uvicorn is not installed)"
    )


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match is not None
    return match.group(0).lower().replace("_", "-")


def test_the_extras_table_matches_pyproject() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(EXTRA_MODULES) <= set(extras)
    provided_by: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            provided_by.setdefault(distribution.lower().replace("_", "-"), set()).add(module)
    for extra, modules in EXTRA_MODULES.items():
        for requirement in extras[extra]:
            name = _requirement_name(requirement)
            if name == "aitbc":
                continue
            # every distribution an extra declares is checked through its modules
            assert provided_by.get(name, set()) & set(modules), (extra, requirement)
        for module in modules:  # the dev venv has every extra: the table names real modules
            assert importlib.util.find_spec(module) is not None, (extra, module)


def test_test_tools_are_a_dependency_group_not_an_extra() -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text())
    extras = pyproject["project"]["optional-dependencies"]
    tools = {_requirement_name(r) for r in pyproject["dependency-groups"]["dev"]}
    assert {"pytest", "mypy", "ruff", "hypothesis"} <= tools
    assert "dev" not in extras
    published = {_requirement_name(r) for reqs in extras.values() for r in reqs}
    assert not published & tools
    # settlement settles on real chains: no tester, no py-evm
    assert not any("tester" in r or "py-evm" in r for r in extras["settlement"])
    assert extras["evm"] == ["aitbc[devnet]"]
