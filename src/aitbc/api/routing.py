"""Which network a call goes to when the caller did not say: the policy half of a
multi-network client (the registry itself is :mod:`aitbc.multinetwork`).

Every rule here reads the client's registry the same way for one network or several;
with one network there is nothing to choose, so every rule answers "that network".

A job's network is known from where this client created it (the client remembers job
id → chain). A job this client never created has to be looked up on the networks: a job
id is ``job_`` and 24 random hex digits (:func:`aitbc.node.clock.new_id`), so it names no
chain, and the receipt that does name one (its ``chain_id``) is only readable from the
job's own node, which is what we are looking for. The lookup asks every network once,
concurrently, and its answer is remembered like a created job's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..core.signing import VerifyKey
from ..errors import APIError, ConfigurationError, NotFoundError
from ..multinetwork import MultiNetworkClient, NetworkConfig, settles
from .base import TransportResolver, path_segment

__all__ = ["issuer_chain", "job_network", "settlement_route", "settling_chain"]


def _choice(resolver: TransportResolver) -> MultiNetworkClient | None:
    """The resolver's registry when there are networks to choose between, else None."""
    registry = resolver.networks
    return registry if len(registry.all_networks) > 1 else None


def job_network(resolver: TransportResolver, job_id: str, chain_id: int | None) -> int | None:
    """For calls keyed by a job id: ``chain_id`` when given, else the chain this client
    created (or found) the job on, else None (the default network). Nobody is asked."""
    return chain_id if chain_id is not None else resolver.job_chain(job_id)


def settling_chain(resolver: TransportResolver, chain_id: int | None) -> int | None:
    """For settlement calls keyed by message id: ``chain_id`` when given or when the
    client has one network, else the chain of :meth:`MultiNetworkClient.settling_network`."""
    multi = _choice(resolver)
    if multi is None or chain_id is not None:
        return chain_id
    return multi.settling_network().chain_id


async def settlement_route(
    resolver: TransportResolver, job_id: str, chain_id: int | None
) -> tuple[int | None, int | None]:
    """``(source, settler)`` chains for settling ``job_id``: where its receipt is read and
    verified, and whose transport sends the settlement.

    With ``chain_id`` (or one network) both are ``chain_id``. Otherwise the source is the
    network the job was created on (remembered by the client; a job it did not create
    is asked of every network concurrently, see the module docstring for why) and the
    settler is that network when its transport settles, else
    :meth:`MultiNetworkClient.settling_network`. A settler serving another network's job
    is told to trust the receipt keys of every configured node (from their ``/v1/info``,
    never from the receipt). Raises NotFoundError when no network knows the job,
    ConfigurationError when several do.
    """
    multi = _choice(resolver)
    if multi is None or chain_id is not None:
        return chain_id, chain_id
    source = multi.network(await _job_chain(resolver, multi, job_id))
    settler = source if settles(source.transport) else multi.settling_network()
    if settler is not source:
        await _trust_every_node(resolver, multi, settler)
    return source.chain_id, settler.chain_id


async def _job_chain(resolver: TransportResolver, multi: MultiNetworkClient, job_id: str) -> int:
    segment = path_segment(job_id, "job_id")
    known = resolver.job_chain(job_id)
    if known is not None and known in multi.networks:
        return known
    # The result route is the one settling reads anyway; 425 (running) or 409 (failed)
    # still say the job lives on that network, only 404 says it does not.
    path = f"/v1/jobs/{segment}/result"

    async def knows(chain: int) -> bool:
        try:
            await resolver.call("GET", path, chain_id=chain)
        except NotFoundError:
            return False
        except APIError:
            return True
        return True

    chains = list(multi.networks)
    found = await asyncio.gather(*map(knows, chains))
    hits = [c for c, ok in zip(chains, found, strict=True) if ok]
    if not hits:
        raise NotFoundError(
            f"job {job_id} is on none of the configured networks ({multi.describe()})",
            status=404,
            code="job_not_found",
        )
    if len(hits) > 1:
        raise ConfigurationError(f"job {job_id} exists on chains {hits}: pass chain_id=")
    resolver.remember_job(job_id, hits[0])
    return hits[0]


async def _trust_every_node(
    resolver: TransportResolver, multi: MultiNetworkClient, settler: NetworkConfig
) -> None:
    keys: list[VerifyKey] = []
    for chain in multi.networks:
        keys.extend((await resolver.node_info(chain)).verify_keys().values())
    manager = getattr(settler.transport, "bridge_manager", None)
    if manager is not None and callable(getattr(manager, "set_trusted_keys", None)):
        manager.set_trusted_keys(keys)


def issuer_chain(resolver: TransportResolver, receipt: Mapping[str, Any]) -> int | None:
    """For ``client.receipts.verify`` without ``chain_id``: the receipt's own chain when
    ``resolver`` spans several networks, else None (the client's one network)."""
    multi = _choice(resolver)
    if multi is not None:
        return multi.issuer_chain(receipt)
    return None
