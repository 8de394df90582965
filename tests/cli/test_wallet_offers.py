"""``aitbc wallet ...`` and ``aitbc offers ...`` against a real node."""

from __future__ import annotations

import json

from .conftest import FUNDS, Stack, run_cli


async def test_wallet_balance_transfer_history(stack: Stack) -> None:
    other_id, other_key = await stack.node.create_principal("client", "carol")
    human = await run_cli("wallet", "balance", *stack.flags())
    assert human.exit_code == 0 and "100,000" in human.stdout

    sent = await run_cli(
        "wallet", "transfer", other_id, "1,234", "--memo", "thanks", "--json", *stack.flags()
    )
    assert sent.exit_code == 0, sent.stderr
    transfer = json.loads(sent.stdout)
    assert transfer["amount"] == "1234" and transfer["to_account"] == other_id
    assert transfer["memo"] == "thanks" and transfer["kind"] == "transfer"

    mine = json.loads((await run_cli("wallet", "balance", "--json", *stack.flags())).stdout)
    theirs = json.loads(
        (await run_cli("wallet", "balance", "--json", *stack.flags(other_key))).stdout
    )
    assert int(mine["balance"]) == FUNDS - 1234 and theirs["balance"] == "1234"

    history = await run_cli("wallet", "history", "--json", *stack.flags())
    kinds = [t["kind"] for t in json.loads(history.stdout)["items"]]
    assert kinds == ["transfer", "mint"]  # newest first
    table = await run_cli("wallet", "history", "--limit", "1", *stack.flags())
    assert transfer["id"] in table.stdout and "mint" not in table.stdout


async def test_transfer_idempotency_key_moves_money_once(stack: Stack) -> None:
    other_id, _ = await stack.node.create_principal("client", "carol")
    args = ("wallet", "transfer", other_id, "50", "--idempotency-key", "pay-1", "--json")
    first = json.loads((await run_cli(*args, *stack.flags())).stdout)
    second = json.loads((await run_cli(*args, *stack.flags())).stdout)
    assert first["id"] == second["id"]
    balance = json.loads((await run_cli("wallet", "balance", "--json", *stack.flags())).stdout)
    assert int(balance["balance"]) == FUNDS - 50


async def test_transfer_bad_amounts_are_refused_before_sending(stack: Stack) -> None:
    other_id, _ = await stack.node.create_principal("client", "carol")
    for amount, needle in (
        ("-5", "non-negative whole number"),
        ("1.5", "whole number"),
        ("0", "greater than zero"),
        ("lots", "whole number"),
    ):
        ran = await run_cli("wallet", "transfer", other_id, amount, *stack.flags())
        assert ran.exit_code == 2, (amount, ran.stderr)
        assert len(ran.lines()) == 1 and needle in ran.stderr
    too_much = await run_cli("wallet", "transfer", other_id, str(FUNDS + 1), *stack.flags())
    assert too_much.exit_code == 1
    assert too_much.lines() and too_much.lines()[0].startswith("error: insufficient funds")
    history = await run_cli("wallet", "history", "--json", *stack.flags())
    assert [t["kind"] for t in json.loads(history.stdout)["items"]] == ["mint"]


async def test_offers_create_list_filter_close_stats(stack: Stack) -> None:
    miner = stack.flags(stack.miner_key)
    created = await run_cli(
        "offers",
        "create",
        "--capacity",
        "4",
        "--price-per-unit",
        "25",
        "--model",
        "llama",
        "--region",
        "eu",
        "--gpu-memory-gb",
        "24",
        "--json",
        *miner,
    )
    assert created.exit_code == 0, created.stderr
    offer = json.loads(created.stdout)
    assert offer["price_per_unit"] == "25" and offer["models"] == ["llama"]
    cheap = await run_cli(
        "offers", "create", "--capacity", "1", "--price-per-unit", "5", "--json", *miner
    )
    cheap_id = json.loads(cheap.stdout)["id"]

    def ids(out: str) -> list[str]:
        return [o["id"] for o in json.loads(out)["items"]]

    everything = await run_cli("offers", "list", "--json", *stack.flags())
    assert ids(everything.stdout) == [cheap_id, offer["id"]]
    by_model = await run_cli("offers", "list", "--model", "llama", "--json", *stack.flags())
    assert ids(by_model.stdout) == [offer["id"]]
    by_price = await run_cli("offers", "list", "--max-price", "10", "--json", *stack.flags())
    assert ids(by_price.stdout) == [cheap_id]
    by_capacity = await run_cli("offers", "list", "--min-capacity", "2", *stack.flags())
    assert offer["id"] in by_capacity.stdout and cheap_id not in by_capacity.stdout

    stats = await run_cli("offers", "stats", "--json", *stack.flags())
    assert json.loads(stats.stdout)["open_capacity"] == 5

    not_mine = await run_cli("offers", "close", offer["id"], *stack.flags())
    assert not_mine.exit_code == 5 and len(not_mine.lines()) == 1  # not yours: hidden
    closed = await run_cli("offers", "close", offer["id"], *miner)
    assert closed.exit_code == 0 and "closed" in closed.stdout
    still_open = await run_cli("offers", "list", "--json", *stack.flags())
    assert ids(still_open.stdout) == [cheap_id]


async def test_client_cannot_create_offers(stack: Stack) -> None:
    ran = await run_cli(
        "offers", "create", "--capacity", "1", "--price-per-unit", "1", *stack.flags()
    )
    assert ran.exit_code == 4
    assert ran.lines()[0].startswith("error: not allowed:")
