"""Install the aitbc wheel as users do and check what each install can and cannot do.

Builds the wheel once, then for each target (the core install alone and each extra)
creates a fresh venv, installs the wheel with that extra (from pip's cache when warm),
and checks inside it:

- every public name of ``aitbc`` imports; no test tool (pytest, mypy, ...) came along;
- a feature whose extra is missing raises MissingExtraError naming that extra on first
  use, and works when the extra is there (CrossChainTransport, the devnet, the node);
- the ``aitbc`` command: without the cli extra, one line naming it and exit 2; with it,
  ``--help`` exits 0 and each command whose extra is missing answers one line naming the
  extra and exits 2, while a command whose extra is there shows its help.

Usage: ``python scripts/check_install.py [--only core,cli,...] [--jobs 2] [--keep DIR]``
(``--jobs``: targets set up at once; pip's downloads and unpacking overlap well).
Exit status 0 when every check passed, 1 otherwise (each failure printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Target -> the extras it has; the largest first, so parallel jobs finish together.
TARGETS: dict[str, tuple[str, ...]] = {
    "all": ("settlement", "devnet", "node", "cli", "onnx"),
    "devnet": ("settlement", "devnet"),
    "node": ("node",),
    "settlement": ("settlement",),
    "cli": ("cli",),
    "core": (),
}
# What CLI commands need beyond cli (aitbc.cli.main.COMMANDS says the same).
COMMAND_EXTRAS: dict[str, tuple[str, ...]] = {
    "jobs": (),
    "miner": (),
    "serve": ("node",),
    "devnet": ("devnet",),
    "settle": ("settlement",),
    "demo": ("node", "devnet"),
}
PUBLISHED_EXTRAS = {"settlement", "devnet", "evm", "node", "cli", "onnx", "all"}
TEST_TOOLS = ("pytest", "hypothesis", "mypy", "ruff", "httpx")

# Runs inside each venv, from an empty directory (so the source tree is not importable).
PROBE = r"""
import importlib, importlib.metadata, importlib.util, json, sys
have = set(json.loads(sys.argv[1]))
failures = []

def check(ok, what):
    if not ok:
        failures.append(what)

import aitbc
from aitbc import MissingExtraError, Transport
for name in aitbc.__all__:
    try:
        getattr(aitbc, name)
    except Exception as exc:
        failures.append(f"aitbc.{name} does not import: {exc!r}")
from aitbc import CrossChainTransport  # on every install: its first use says what is missing

extras = set(importlib.metadata.metadata("aitbc").get_all("Provides-Extra") or [])
check(extras == set(json.loads(sys.argv[2])), f"published extras are {sorted(extras)}")
for tool in json.loads(sys.argv[3]):
    check(importlib.util.find_spec(tool) is None, f"test tool {tool} was installed")

def raises_missing(call, extra, what):
    try:
        call()
    except MissingExtraError as exc:
        hint = f"pip install 'aitbc[{extra}]'"
        check(exc.extra == extra and hint in str(exc), f"{what}: error does not name {hint}: {exc}")
        check(isinstance(exc, ImportError), f"{what}: MissingExtraError is not an ImportError")
    except Exception as exc:
        failures.append(f"{what}: raised {exc!r} instead of MissingExtraError")
    else:
        failures.append(f"{what}: worked although the {extra} extra is not installed")

if "settlement" in have:
    check(issubclass(CrossChainTransport, Transport), "CrossChainTransport is not a Transport")
    check("crosschain" in aitbc.known_transport_types(), "crosschain not listed with settlement")
    from aitbc.devnet.config import DevnetConfig  # what a settlement client reads
else:
    raises_missing(lambda: CrossChainTransport({}), "settlement", "CrossChainTransport({})")
    raises_missing(lambda: aitbc.BridgeManager(), "settlement", "BridgeManager()")
    raises_missing(lambda: aitbc.create_transport({"type": "crosschain"}), "settlement",
                   "create_transport(crosschain)")
    check("crosschain" not in aitbc.known_transport_types(),
          f"crosschain listed without settlement: {aitbc.known_transport_types()}")
check({"http", "websocket", "failover"} <= set(aitbc.known_transport_types()),
      f"core transports missing: {aitbc.known_transport_types()}")

if "devnet" in have:
    from aitbc.devnet import Devnet
    importlib.import_module("eth_tester")
elif "settlement" in have:
    raises_missing(lambda: importlib.import_module("aitbc.devnet").Devnet, "devnet",
                   "aitbc.devnet.Devnet")
    check(importlib.util.find_spec("eth_tester") is None, "settlement pulled in eth-tester")
    check(importlib.util.find_spec("eth") is None, "settlement pulled in py-evm")

if "node" in have:
    from aitbc.node.app import create_app

print(json.dumps(failures))
"""


def run(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=cwd, env=env)


def build_wheel(out: Path) -> Path:
    done = run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)]
    )
    if done.returncode != 0:
        sys.exit(f"wheel build failed:\n{done.stderr}")
    (wheel,) = out.glob("aitbc-*.whl")
    return wheel


def make_venv(where: Path, wheel: Path, extras: tuple[str, ...], target: str) -> Path:
    """A fresh venv with the wheel (and ``target``'s extra) installed by this pip."""
    done = run([sys.executable, "-m", "venv", "--without-pip", str(where)])
    if done.returncode != 0:
        sys.exit(f"venv for {target} failed:\n{done.stderr}")
    python = where / "bin" / "python"
    spec = f"{wheel}[{target}]" if extras else str(wheel)
    done = run(
        # --no-compile: byte-compiling all of web3/py-evm costs more than the checks
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-compile",
            spec,
        ],
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if done.returncode != 0:
        sys.exit(f"installing {spec} failed:\n{done.stderr}")
    return python


def one_line_naming(done: subprocess.CompletedProcess[str], extra: str) -> str | None:
    """None when the command answered exit 2 with one stderr line naming ``extra``."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    hint = f"pip install 'aitbc[{extra}]'"
    if done.returncode == 2 and len(lines) == 1 and hint in lines[0] and not done.stdout:
        return None
    return f"exit {done.returncode}, stdout {done.stdout!r}, stderr {done.stderr!r}"


def check_cli(venv: Path, have: set[str], cwd: Path) -> list[str]:
    aitbc = str(venv / "bin" / "aitbc")
    failures = []
    helped = run([aitbc, "--help"], cwd=cwd)
    if "cli" not in have:
        problem = one_line_naming(helped, "cli")
        return [f"aitbc --help without cli: {problem}"] if problem else []
    if helped.returncode != 0 or "Commands" not in helped.stdout:
        failures.append(f"aitbc --help: exit {helped.returncode}: {helped.stderr!r}")
    for command, needs in COMMAND_EXTRAS.items():
        missing = [extra for extra in needs if extra not in have]
        if missing:
            for args in ([command], [command, "--help"]):
                problem = one_line_naming(run([aitbc, *args], cwd=cwd), ",".join(needs))
                if problem:
                    failures.append(f"aitbc {' '.join(args)} without {missing}: {problem}")
        else:
            done = run([aitbc, command, "--help"], cwd=cwd)
            if done.returncode != 0 or "Usage" not in done.stdout:
                failures.append(f"aitbc {command} --help: exit {done.returncode} {done.stderr!r}")
    return failures


def check_target(target: str, wheel: Path, base: Path, keep: bool) -> tuple[list[str], float]:
    """The failures of ``target`` and the seconds it took (its venv removed unless kept)."""
    began = time.monotonic()
    have = set(TARGETS[target])
    python = make_venv(base / target, wheel, TARGETS[target], target)
    cwd = base / f"{target}-cwd"
    cwd.mkdir()
    probe = run(
        [
            str(python),
            "-c",
            PROBE,
            json.dumps(sorted(have)),
            json.dumps(sorted(PUBLISHED_EXTRAS)),
            json.dumps(TEST_TOOLS),
        ],
        cwd=cwd,
    )
    if probe.returncode != 0:
        failures = [f"probe crashed: {probe.stderr.strip()}"]
    else:
        failures = json.loads(probe.stdout.strip().splitlines()[-1])
    failures += check_cli(base / target, have, cwd)
    if not keep:  # here, not at the end: removing big venvs overlaps the other jobs
        shutil.rmtree(base / target)
    return failures, time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated targets of {', '.join(TARGETS)}")
    parser.add_argument("--jobs", type=int, default=2, help="targets checked at once")
    parser.add_argument("--keep", type=Path, help="build the venvs here and keep them")
    args = parser.parse_args()
    targets = args.only.split(",") if args.only else list(TARGETS)
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGETS)}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aitbc-install-") as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        wheel = build_wheel(base / "dist")
        print(f"built {wheel.name} in {time.monotonic() - started:.0f}s", flush=True)
        failed = 0
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            checks = [
                pool.submit(check_target, target, wheel, base, bool(args.keep))
                for target in targets
            ]
            for target, check in zip(targets, checks, strict=True):
                failures, took = check.result()
                print(f"{target:<11} {'FAIL' if failures else 'ok'} ({took:.0f}s)", flush=True)
                for failure in failures:
                    print(f"  - {failure}")
                failed += bool(failures)
    took = time.monotonic() - started
    print(f"check_install: {len(targets) - failed} of {len(targets)} installs ok in {took:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
