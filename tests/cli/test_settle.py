"""``aitbc settle job|status|quote`` on real parts: a node (chain 1), a miner, and the
py-evm devnet (chains 1 and 42161) with both bridges, configured from the devnet file."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Stack, run_cli

pytestmark = pytest.mark.evm
TARGET = 42161


@pytest.fixture(scope="module")
def devnet_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running two-chain devnet for this module, and the config file describing it."""
    pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")
    from aitbc.devnet import BackgroundDevnet

    path = tmp_path_factory.mktemp("devnet") / "devnet.json"
    with BackgroundDevnet([1, TARGET]) as devnet:
        devnet.config.write(path)
        yield path


async def _balance_on_target(devnet_file: Path, address: str) -> int:
    from aitbc.devnet.config import DevnetConfig
    from aitbc.settlement.bridges._evm import close_web3, open_web3

    w3 = open_web3(DevnetConfig.load(devnet_file).chain(TARGET).rpc_url)
    try:
        return int(await w3.eth.get_balance(w3.to_checksum_address(address)))
    finally:
        await close_web3(w3)


async def _completed_job(stack: Stack, price: int) -> str:
    ran = await run_cli(
        "jobs", "submit", "echo", "--price", str(price), "--wait", "--json", *stack.flags()
    )
    assert ran.exit_code == 0, ran.stderr
    return str(json.loads(ran.stdout)["job"]["id"])


async def test_settle_with_flags_both_bridges(
    mined: Stack, devnet_file: Path, tmp_path: Path
) -> None:
    payout = "0x" + secrets.token_hex(20)
    setup = [
        "--devnet-config",
        str(devnet_file),
        "--storage",
        str(tmp_path / "s.db"),
        *mined.flags(),
    ]
    for bridge, price in (("layerzero", 300), ("ccip", 200)):
        job_id = await _completed_job(mined, price)
        quote = await run_cli(
            "settle",
            "quote",
            job_id,
            "--target-chain",
            str(TARGET),
            "--bridge",
            bridge,
            "--json",
            *setup,
        )
        assert quote.exit_code == 0, quote.stderr
        assert int(json.loads(quote.stdout)["native_fee"]) > 0
        ran = await run_cli(
            "settle",
            "job",
            job_id,
            "--target-chain",
            str(TARGET),
            "--bridge",
            bridge,
            "--recipient",
            payout,
            "--wait",
            "--json",
            *setup,
        )
        assert ran.exit_code == 0, ran.stderr
        settled = json.loads(ran.stdout)
        assert settled["status"] == "completed" and settled["bridge_name"] == bridge
        status = await run_cli("settle", "status", settled["message_id"], *setup)
        assert status.exit_code == 0 and "completed" in status.stdout
        again = await run_cli(
            "settle",
            "job",
            job_id,
            "--target-chain",
            str(TARGET),
            "--bridge",
            bridge,
            "--recipient",
            payout,
            "--json",
            *setup,
        )
        assert json.loads(again.stdout)["message_id"] == settled["message_id"]  # once only
    assert await _balance_on_target(devnet_file, payout) == 300 + 200


async def test_settle_from_config_file_and_env(
    mined: Stack, devnet_file: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "aitbc.toml"
    cfg.write_text(
        f'node_url = "{mined.node.url}"\n[settlement]\nstorage = "settle.db"\nkey = "payer"\n'
    )
    env: dict[str, Any] = {
        "AITBC_API_KEY": mined.client_key,
        "AITBC_DEVNET_CONFIG": str(devnet_file),
    }
    payout = "0x" + secrets.token_hex(20)
    job_id = await _completed_job(mined, 150)
    sent = await run_cli(
        "settle",
        "job",
        job_id,
        "--target-chain",
        str(TARGET),
        "--recipient",
        payout,
        "--json",
        "--config",
        str(cfg),
        env=env,
    )
    assert sent.exit_code == 0, sent.stderr
    message_id = json.loads(sent.stdout)["message_id"]
    assert (tmp_path / "settle.db").is_file()  # the file's relative storage path
    for _ in range(200):  # the relayer delivers asynchronously; `status` follows it
        shown = await run_cli(
            "settle", "status", message_id, "--json", "--config", str(cfg), env=env
        )
        if json.loads(shown.stdout)["status"] == "completed":
            break
    assert json.loads(shown.stdout)["status"] == "completed"
    assert await _balance_on_target(devnet_file, payout) == 150


async def test_settle_bad_input_is_one_line(stack: Stack, tmp_path: Path) -> None:
    no_devnet = await run_cli("settle", "job", "job_x", "--target-chain", "5", *stack.flags())
    assert no_devnet.exit_code == 2 and no_devnet.lines() == [
        "error: no devnet config: pass --devnet-config, set AITBC_DEVNET_CONFIG or "
        "[settlement] devnet_config in the config file"
    ]
    bad_bridge = await run_cli(
        "settle",
        "job",
        "job_x",
        "--target-chain",
        "5",
        "--bridge",
        "pigeon",
        "--devnet-config",
        str(tmp_path / "d.json"),
        *stack.flags(),
    )
    assert bad_bridge.exit_code == 2 and "--bridge must be one of" in bad_bridge.stderr
    unreadable = await run_cli(
        "settle",
        "status",
        "0xabc",
        "--devnet-config",
        str(tmp_path / "missing.json"),
        "--storage",
        str(tmp_path / "s.db"),
        *stack.flags(),
    )
    assert unreadable.exit_code == 2 and len(unreadable.lines()) == 1
    assert "cannot read devnet config" in unreadable.stderr


async def test_settle_unknown_and_unfinished(
    stack: Stack, devnet_file: Path, tmp_path: Path
) -> None:
    setup = [
        "--devnet-config",
        str(devnet_file),
        "--storage",
        str(tmp_path / "s.db"),
        *stack.flags(),
    ]
    unknown = await run_cli("settle", "status", "0x" + "00" * 32, *setup)
    assert unknown.exit_code == 5 and "settlement_not_found" in unknown.stderr
    queued = await run_cli("jobs", "submit", "echo", "--price", "5", "--json", *stack.flags())
    job_id = json.loads(queued.stdout)["id"]
    early = await run_cli(
        "settle",
        "job",
        job_id,
        "--target-chain",
        str(TARGET),
        "--recipient",
        "0x" + "11" * 20,
        *setup,
    )
    assert early.exit_code == 1 and len(early.lines()) == 1 and "job_not_ready" in early.stderr
