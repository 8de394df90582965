"""MockTransport behaviour and the entry-point transport registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from aitbc.errors import ConfigurationError, NotFoundError, ProtocolError, TransportError
from aitbc.transports import (
    HTTPTransport,
    MockRequest,
    MockTransport,
    create_transport,
    known_transport_types,
    transport_class,
)

from .fakes import info_only


async def test_sync_and_async_handlers_and_recording() -> None:
    async def handler(request: MockRequest) -> dict[str, Any]:
        return {"path": request.path, "key": request.header("x-api-key")}

    t = MockTransport(handler, {"default_headers": {"X-API-Key": "k"}})
    got = await t.request("post", "/v1/jobs", {"a": 1}, {"q": "1"}, {"H": "v"})
    assert got == {"path": "/v1/jobs", "key": "k"}
    assert t.requests[0].method == "POST"
    assert t.requests[0].data == {"a": 1}
    assert t.requests[0].params == {"q": "1"}
    sync = MockTransport(lambda r: None)
    assert await sync.request("GET", "/x") == {}


async def test_handler_errors_propagate_and_bad_answers_are_protocol_errors() -> None:
    t = MockTransport(info_only())
    with pytest.raises(NotFoundError):
        await t.request("GET", "/nope")
    bad = MockTransport(lambda r: [1])  # type: ignore[arg-type, return-value]
    with pytest.raises(ProtocolError):
        await bad.request("GET", "/x")


async def test_mock_stream() -> None:
    events = [{"topic": "t", "seq": i, "event": "e", "data": {}} for i in (1, 2)]
    t = MockTransport(info_only(), stream_handler=lambda r: iter(events))
    assert [e async for e in t.stream("GET", "/v1/events")] == events
    with pytest.raises(TransportError):
        async for _ in MockTransport(info_only()).stream("GET", "/v1/events"):
            pass


def test_builtin_types_are_registered() -> None:
    assert {"http", "websocket", "crosschain"} <= set(known_transport_types())
    assert transport_class("http") is HTTPTransport
    assert isinstance(create_transport({"base_url": "http://x"}), HTTPTransport)


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"known types: .*http"):
        create_transport({"type": "carrier-pigeon", "base_url": "http://x"})


def _install_plugin(tmp_path: Path, name: str, target: str, module_source: str) -> None:
    dist = tmp_path / f"aitbc_test_plugin_{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: aitbc-test-plugin-{name}\n")
    (dist / "entry_points.txt").write_text(f"[aitbc.transports]\n{name} = {target}\n")
    (tmp_path / f"aitbc_test_plugin_{name}.py").write_text(module_source)


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Any:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for mod in [m for m in sys.modules if m.startswith("aitbc_test_plugin_")]:
        del sys.modules[mod]


def test_third_party_plugin_loads(plugin_dir: Path) -> None:
    _install_plugin(
        plugin_dir,
        "good",
        "aitbc_test_plugin_good:Good",
        "from aitbc.transports.mock import MockTransport\n"
        "class Good(MockTransport):\n"
        "    def __init__(self, config):\n"
        "        super().__init__(lambda r: {'ok': True}, config)\n",
    )
    assert "good" in known_transport_types()
    assert type(create_transport({"type": "good"})).__name__ == "Good"


def test_plugin_that_fails_to_import_is_a_clear_error(plugin_dir: Path) -> None:
    _install_plugin(plugin_dir, "broken", "aitbc_test_plugin_broken:X", "import not_a_module\n")
    with pytest.raises(ConfigurationError, match=r"'broken'.*failed to load.*not_a_module"):
        create_transport({"type": "broken"})


def test_plugin_that_is_not_a_transport_is_refused(plugin_dir: Path) -> None:
    _install_plugin(plugin_dir, "odd", "aitbc_test_plugin_odd:X", "X = 3\n")
    with pytest.raises(ConfigurationError, match="not a Transport subclass"):
        transport_class("odd")
