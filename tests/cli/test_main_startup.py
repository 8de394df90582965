"""The ``aitbc`` command starts light and answers a missing extra with one line.

``aitbc --help`` must import no command module (the 0.5 s budget is measured by
bench/cli_startup.py; here the cause is checked: what gets imported). Every command
whose extra is missing prints one line naming it and exits 2, with no traceback. Each
case runs the real entry point in a fresh interpreter whose extras are hidden (see
tests/sdk/blocked_imports.py).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from aitbc.cli.main import COMMANDS, load_command
from sdk.blocked_imports import CLI, CLI_MAIN, DEVNET_ONLY, NODE, SETTLEMENT, run_without


def one_error_line(done: subprocess.CompletedProcess[str], extra: str) -> str:
    """The single stderr line of a missing-extra answer (asserting its shape)."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pip install 'aitbc[{extra}]'" in lines[0]
    assert "Traceback" not in done.stderr
    return lines[0]


def test_help_imports_no_command_module_nor_the_sdk() -> None:
    done = run_without(
        (),
        """
import json, sys
sys.argv = ["aitbc", "--help"]
from aitbc.cli.entry import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
""",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None)
    assert "Commands:" in done.stdout
    loaded = set(result["modules"])
    command_modules = {spec.module for spec in COMMANDS.values()}
    assert not loaded & command_modules
    heavy = {"aitbc.client", "pydantic", "aiohttp", "websockets", "web3", "fastapi", "rich"}
    assert not loaded & heavy


def test_help_lists_every_command_from_the_table() -> None:
    done = run_without((), CLI_MAIN, ["--help"])
    assert done.returncode == 0, done.stderr
    for name, spec in COMMANDS.items():
        assert f"{name} " in done.stdout
        assert spec.help.split()[0] in done.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_tables_help_line_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.get_short_help_str(limit=1000) == COMMANDS[name].help


def test_without_the_cli_extra_the_command_names_it() -> None:
    for args in (["--help"], [], ["jobs", "list"]):
        line = one_error_line(run_without(CLI, CLI_MAIN, args), "cli")
        assert line.startswith("error: the aitbc command needs the cli extra")


@pytest.mark.parametrize(
    ("blocked", "args", "extra"),
    [
        (NODE, ["serve"], "node"),
        (NODE, ["serve", "--port", "0", "--workers", "2"], "node"),
        (NODE, ["keys", "create", "--role", "client", "--name", "a"], "node"),
        (DEVNET_ONLY, ["devnet", "--chains", "1,2"], "devnet"),
        (DEVNET_ONLY, ["demo"], "node,devnet"),
        (SETTLEMENT, ["settle", "job", "job_1", "--target-chain", "42161"], "settlement"),
        (SETTLEMENT, ["settle", "--help"], "settlement"),
    ],
)
def test_a_command_without_its_extra_answers_one_line(
    blocked: tuple[str, ...], args: list[str], extra: str
) -> None:
    line = one_error_line(run_without(blocked, CLI_MAIN, args), extra)
    assert line.startswith(f"error: aitbc {args[0]} needs the ")


def test_help_marks_commands_whose_extra_is_missing() -> None:
    done = run_without(NODE, CLI_MAIN, ["--help"])
    assert done.returncode == 0, done.stderr
    commands = done.stdout.partition("Commands:")[2]
    rows: dict[str, str] = {}
    name = ""
    for line in commands.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name = line.split()[0]
        if name:  # a wrapped help line continues its command's row
            rows[name] = rows.get(name, "") + " " + line.strip()
    assert "aitbc[node]" in rows["serve"]
    assert "aitbc[node]" in rows["keys"]
    assert "aitbc[" not in rows["jobs"]
