"""Where settings come from (flags > env > file > defaults) and what users see when
something is wrong: one line on stderr, a non-zero exit status, never a traceback.
Some run the installed ``aitbc`` executable, exactly as a user would."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from .conftest import Stack, run_binary, run_cli


def _write_config(path: Path, node_url: str, api_key: str, extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'node_url = "{node_url}"\napi_key = "{api_key}"\ntimeout = 7\n'
        f'[settlement]\ndevnet_config = "devnet.json"\n{extra}'
    )
    return path


async def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    cfg = _write_config(
        tmp_path / "xdg-config" / "aitbc" / "config.toml",
        "http://file.example:1",
        "aitbc_fromfile_key1234",
    )

    from_file = json.loads((await run_cli("config", "show", "--json")).stdout)
    assert from_file["node_url"] == "http://file.example:1" and from_file["timeout"] == 7
    assert from_file["sources"]["node_url"] == "file"
    assert from_file["config_file"] == str(cfg)
    assert from_file["devnet_config"] == str(cfg.parent / "devnet.json")  # relative to file
    assert from_file["api_key"] == "aitbc_…1234"  # masked

    env = {"AITBC_NODE_URL": "http://env.example:2", "AITBC_TIMEOUT": "9"}
    from_env = json.loads((await run_cli("config", "show", "--json", env=env)).stdout)
    assert from_env["node_url"] == "http://env.example:2" and from_env["timeout"] == 9
    assert from_env["sources"]["node_url"] == "env:AITBC_NODE_URL"
    assert from_env["sources"]["api_key"] == "file"

    from_flag = json.loads(
        (
            await run_cli("config", "show", "--json", "--node", "http://flag.example:3", env=env)
        ).stdout
    )
    assert from_flag["node_url"] == "http://flag.example:3"
    assert from_flag["sources"]["node_url"] == "flag" and from_flag["timeout"] == 9


async def test_explicit_config_file_and_aitbc_config_env(tmp_path: Path) -> None:
    other = _write_config(tmp_path / "other.toml", "http://other.example:4", "aitbc_k")
    shown = json.loads(
        (await run_cli("config", "show", "--json", env={"AITBC_CONFIG": str(other)})).stdout
    )
    assert shown["node_url"] == "http://other.example:4"
    flag = json.loads((await run_cli("config", "show", "--json", "--config", str(other))).stdout)
    assert flag["config_file"] == str(other)
    defaults = json.loads((await run_cli("config", "show", "--json")).stdout)
    assert defaults["node_url"] == "http://127.0.0.1:8000" and defaults["api_key"] is None


async def test_broken_config_is_one_line(tmp_path: Path) -> None:
    missing = await run_cli("config", "show", "--config", str(tmp_path / "nope.toml"))
    assert (
        missing.exit_code == 2 and len(missing.lines()) == 1 and "does not exist" in missing.stderr
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("node_url = \n")
    broken = await run_cli("config", "show", "--config", str(bad))
    assert broken.exit_code == 2 and len(broken.lines()) == 1 and "cannot read" in broken.stderr
    typed = tmp_path / "typed.toml"
    typed.write_text('timeout = "soon"\n')
    wrong = await run_cli("config", "show", "--config", str(typed))
    assert wrong.exit_code == 2 and "wrong type" in wrong.stderr
    url = await run_cli("config", "show", "--node", "ftp://x")
    assert url.exit_code == 2 and "http://" in url.stderr


async def test_file_and_env_settings_reach_a_real_node(stack: Stack, tmp_path: Path) -> None:
    cfg = _write_config(tmp_path / "c.toml", stack.node.url, stack.client_key)
    via_file = await run_cli("wallet", "balance", "--json", "--config", str(cfg))
    assert via_file.exit_code == 0 and json.loads(via_file.stdout)["account_id"] == stack.client_id
    env = {"AITBC_NODE_URL": stack.node.url, "AITBC_API_KEY": stack.miner_key}
    via_env = await run_cli("wallet", "balance", "--json", "--config", str(cfg), env=env)
    assert json.loads(via_env.stdout)["account_id"] == stack.miner_id  # env beats file
    via_flag = await run_cli("wallet", "balance", "--json", "--api-key", stack.client_key, env=env)
    assert json.loads(via_flag.stdout)["account_id"] == stack.client_id  # flag beats env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_binary_down_node_is_one_line_exit_3() -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    ran = await run_binary("wallet", "balance", "--node", url, "--api-key", "aitbc_x")
    assert ran.exit_code == 3
    assert ran.lines() == [
        f"error: cannot reach the node at {url} (is it running? is --node right?)"
    ]
    as_json = await run_cli("jobs", "list", "--json", "--node", url, "--api-key", "k")
    assert as_json.exit_code == 3
    assert json.loads(as_json.stderr)["error"]["code"] == "unreachable"


async def test_binary_bad_key_is_one_line_exit_4(stack: Stack) -> None:
    ran = await run_binary(
        "jobs", "list", "--node", stack.node.url, env={"AITBC_API_KEY": "aitbc_not_a_real_key"}
    )
    assert ran.exit_code == 4
    assert len(ran.lines()) == 1 and "rejected the API key" in ran.stderr
    assert "Traceback" not in ran.stderr


async def test_binary_bad_payload_and_missing_key(stack: Stack) -> None:
    bad = await run_binary(
        "jobs",
        "submit",
        "echo",
        "--price",
        "1",
        "--payload",
        "{oops",
        "--node",
        stack.node.url,
        "--api-key",
        stack.client_key,
    )
    assert bad.exit_code == 2 and len(bad.lines()) == 1
    assert bad.lines()[0].startswith("error: --payload is not valid JSON")
    keyless = await run_cli("wallet", "balance", "--node", stack.node.url)
    assert keyless.exit_code == 2 and keyless.lines() == [
        "error: no API key: pass --api-key, set AITBC_API_KEY or api_key in the config file"
    ]


async def test_config_path_names_file_and_variables(tmp_path: Path) -> None:
    ran = await run_cli("config", "path")
    assert ran.exit_code == 0
    lines = ran.stdout.splitlines()
    assert lines[0] == str(tmp_path / "xdg-config" / "aitbc" / "config.toml")
    assert "AITBC_NODE_URL\tnode_url" in lines and "AITBC_API_KEY\tapi_key" in lines
