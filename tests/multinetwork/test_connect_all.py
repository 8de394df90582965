"""connect_all against real nodes: one combined error naming every network that failed,
and nothing left open; disconnect_all closes everything."""

from __future__ import annotations

import pytest

from aitbc import AITBCClient, HTTPTransport
from aitbc.errors import ConnectError, MultiNetworkConnectError, NetworkMismatchError
from aitbc.multinetwork import MultiNetworkClient, NetworkConfig, networks_from_config

from .networks import Net, networks_config
from .relay import free_port


def _all_closed(multi: MultiNetworkClient) -> bool:
    transports = [n.transport for n in multi.networks.values()]
    return all(
        not t.is_connected and (not isinstance(t, HTTPTransport) or t.session is None)
        for t in transports
    )


async def test_a_down_node_and_a_wrong_chain_give_one_error(nets: dict[str, Net]) -> None:
    config = networks_config(nets)
    config["networks"]["polygon"]["base_url"] = f"http://127.0.0.1:{free_port()}"  # down
    config["networks"]["arbitrum"]["base_url"] = nets["ethereum"].node.url  # serves chain 1
    client = AITBCClient(config, multi_network=True)
    with pytest.raises(MultiNetworkConnectError) as caught:
        await client.connect()
    error = caught.value
    assert set(error.failures) == {"polygon", "arbitrum"}
    assert isinstance(error.failures["polygon"], ConnectError)
    assert isinstance(error.failures["arbitrum"], NetworkMismatchError)
    message = str(error)
    assert "2 of 3 networks" in message
    assert "polygon (chain 137): ConnectError" in message
    assert "arbitrum (chain 42161): NetworkMismatchError" in message and "serves chain 1" in message
    assert "ethereum" not in message
    assert client.multi_network_client is not None
    assert _all_closed(client.multi_network_client)  # ethereum connected, then closed again


async def test_connect_all_then_disconnect_all(nets: dict[str, Net]) -> None:
    multi = networks_from_config(networks_config(nets))
    infos = await multi.connect_all()
    assert {c: i.chain_id for c, i in infos.items()} == {1: 1, 137: 137, 42161: 42161}
    assert len({i.coordinator_id for i in infos.values()}) == 3  # three different nodes
    assert all(n.transport.is_connected for n in multi.networks.values())
    assert await multi.disconnect_all() == {}
    assert _all_closed(multi) and multi.node_info == {}


async def test_network_config_built_by_hand(nets: dict[str, Net]) -> None:
    multi = MultiNetworkClient()
    for net in nets.values():
        transport = HTTPTransport({"base_url": net.node.url})
        multi.add_network(NetworkConfig(net.name, net.chain_id, transport))
    await multi.connect_all()
    try:
        assert multi.default_network == 1
        answer = await multi.get_transport(137).request("GET", "/v1/info")
        assert answer["chain_id"] == 137
    finally:
        await multi.disconnect_all()
    assert _all_closed(multi)
