"""``client.wallet``: balance, transfers and the ledger history of your account."""

from __future__ import annotations

from ..errors import ConfigurationError
from ..models import Balance, Page, Transfer
from .base import ResourceAPI, money_to_wire, new_idempotency_key, parse
from .pages import PageIterator


class WalletAPI(ResourceAPI):
    """The account of the principal whose key the transport sends."""

    async def balance(self, *, chain_id: int | None = None) -> Balance:
        """Spendable balance and the amount escrowed for your open jobs (base units)."""
        answer = await self._request("GET", "/v1/wallet/balance", chain_id=chain_id)
        return parse(Balance, answer, "balance")

    async def transfer(
        self,
        to: str,
        amount: int,
        *,
        memo: str | None = None,
        idempotency_key: str | None = None,
        chain_id: int | None = None,
    ) -> Transfer:
        """Move ``amount`` base units to principal ``to``.

        One Idempotency-Key (yours, or a fresh one) covers every retry, so the money
        moves at most once. Raises InsufficientFundsError (402), NotFoundError for an
        unknown recipient, ConfigurationError for a float or negative amount.
        """
        if not isinstance(to, str) or not to:
            raise ConfigurationError(f"to must be a principal id, got {to!r}")
        body = {"to": to, "amount": money_to_wire(amount, "amount")}
        if memo is not None:
            body["memo"] = memo
        answer = await self._request(
            "POST",
            "/v1/wallet/transfer",
            data=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            chain_id=chain_id,
        )
        return parse(Transfer, answer, "transfer")

    def history(
        self, *, limit: int | None = None, chain_id: int | None = None
    ) -> PageIterator[Transfer]:
        """Every ledger movement touching your account, newest first, across pages."""

        async def fetch(cursor: str | None) -> Page[Transfer]:
            params = {"limit": limit, "cursor": cursor}
            answer = await self._request(
                "GET", "/v1/wallet/history", params=params, chain_id=chain_id
            )
            return parse(Page[Transfer], answer, "page of transfers")

        return PageIterator(fetch)
