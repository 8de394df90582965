// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AitbcBridgeApp} from "./AitbcBridgeApp.sol";

/// @notice Destination side of an AITBC settlement and its single source of truth. Each
/// order (keyed by bridge, source route and settlement id) ends exactly once, judged by this
/// chain's clock alone: Paid (the order arrived by its deadline; the recipient is paid from
/// the liquidity provider's pool) or Cancelled (someone asked after the deadline while it
/// was unpaid, or it arrived late). `report` sends the outcome back to the source through
/// the same bridge, where it releases the escrow to the liquidity provider or the payer.
contract AitbcSettlementDestination is AitbcBridgeApp {
    enum Outcome {
        None,
        Paid,
        Cancelled
    }

    struct Record {
        Outcome outcome;
        address liquidityProvider;
    }

    uint256 public constant REPORT_GAS = 150_000;

    address public liquidityProvider;
    mapping(bytes32 => Record) public records; // orderKey => outcome

    event Paid(
        bytes32 indexed settlementId,
        bytes32 indexed messageId,
        uint8 bridge,
        uint64 sourceRoute,
        address recipient,
        uint256 amount,
        address liquidityProvider
    );
    event Cancelled(bytes32 indexed settlementId, uint8 bridge, uint64 sourceRoute);
    event Reported(bytes32 indexed settlementId, bytes32 indexed messageId, uint8 outcome, uint256 fee);
    event DuplicateIgnored(bytes32 indexed settlementId, bytes32 indexed messageId);

    error PoolTooSmall(uint256 available, uint256 amount);
    error PaymentFailed(address recipient, uint256 amount);
    error NotExpired(uint64 deadline, uint256 nowTs);
    error AlreadyPaid(bytes32 settlementId);
    error Unsettled(bytes32 settlementId);

    constructor(address lzEndpoint_, address ccipRouter_, address delegate_, address liquidityProvider_)
        AitbcBridgeApp(lzEndpoint_, ccipRouter_, delegate_)
    {
        liquidityProvider = liquidityProvider_;
    }

    /// @notice Pool deposits (anyone may add liquidity; the provider is repaid from escrows).
    receive() external payable {}

    function setLiquidityProvider(address liquidityProvider_) external onlyOwner {
        liquidityProvider = liquidityProvider_;
    }

    function settlementId(address payer, bytes32 receiptHash, address recipient, uint256 amount, uint64 deadline)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(payer, receiptHash, recipient, amount, deadline));
    }

    function orderKey(uint8 bridge, uint64 sourceRoute, bytes32 id) public pure returns (bytes32) {
        return keccak256(abi.encode(bridge, sourceRoute, id));
    }

    /// @notice 0 none, 1 paid, 2 cancelled.
    function outcomeOf(uint8 bridge, uint64 sourceRoute, bytes32 id) external view returns (Outcome) {
        return records[orderKey(bridge, sourceRoute, id)].outcome;
    }

    function _onMessage(uint8 bridge, uint64 route, bytes32 messageId, bytes calldata payload) internal override {
        (address payer, bytes32 receiptHash, address recipient, uint256 amount, uint64 deadline) =
            abi.decode(payload, (address, bytes32, address, uint256, uint64));
        bytes32 id = settlementId(payer, receiptHash, recipient, amount, deadline);
        Record storage r = records[orderKey(bridge, route, id)];
        if (r.outcome != Outcome.None) {
            emit DuplicateIgnored(id, messageId); // cancelled first, or a second delivery
            return;
        }
        if (block.timestamp > deadline) {
            r.outcome = Outcome.Cancelled;
            emit Cancelled(id, bridge, route);
            return;
        }
        uint256 available = address(this).balance - msg.value;
        if (available < amount) revert PoolTooSmall(available, amount); // retryable after a top-up
        r.outcome = Outcome.Paid;
        r.liquidityProvider = liquidityProvider;
        emit Paid(id, messageId, bridge, route, recipient, amount, liquidityProvider);
        (bool ok,) = recipient.call{value: amount}("");
        if (!ok) revert PaymentFailed(recipient, amount); // the whole delivery reverts: retryable
    }

    /// @notice Cancel an unpaid order after its deadline (this chain's time) and report it to
    /// the source; anyone may call it (the escrow can only go back to the payer). Cancelling
    /// an order that never arrived is allowed: it can then never be paid.
    function cancel(
        uint8 bridge,
        uint64 sourceRoute,
        address payer,
        bytes32 receiptHash,
        address recipient,
        uint256 amount,
        uint64 deadline
    ) external payable returns (bytes32 messageId) {
        if (block.timestamp <= deadline) revert NotExpired(deadline, block.timestamp);
        bytes32 id = settlementId(payer, receiptHash, recipient, amount, deadline);
        Record storage r = records[orderKey(bridge, sourceRoute, id)];
        if (r.outcome == Outcome.Paid) revert AlreadyPaid(id);
        if (r.outcome == Outcome.None) {
            r.outcome = Outcome.Cancelled;
            emit Cancelled(id, bridge, sourceRoute);
        }
        return _report(bridge, sourceRoute, id, r);
    }

    /// @notice Send the outcome of a finished order to the source (again, if an earlier
    /// report was lost; the source acts on the first one only). Anyone may pay for it.
    function report(uint8 bridge, uint64 sourceRoute, bytes32 id) external payable returns (bytes32 messageId) {
        Record storage r = records[orderKey(bridge, sourceRoute, id)];
        if (r.outcome == Outcome.None) revert Unsettled(id);
        return _report(bridge, sourceRoute, id, r);
    }

    function quoteReport(uint8 bridge, uint64 sourceRoute, bytes32 id) external view returns (uint256) {
        return quoteMessage(bridge, sourceRoute, abi.encode(uint8(1), id, address(0)), REPORT_GAS);
    }

    function _report(uint8 bridge, uint64 sourceRoute, bytes32 id, Record storage r) internal returns (bytes32 messageId) {
        bytes memory payload = abi.encode(uint8(r.outcome), id, r.liquidityProvider);
        uint256 fee;
        (messageId, fee) = _sendMessage(bridge, sourceRoute, payload, REPORT_GAS);
        if (msg.value < fee) revert InsufficientValue(fee, msg.value);
        emit Reported(id, messageId, uint8(r.outcome), fee);
        _pay(msg.sender, msg.value - fee);
    }
}
