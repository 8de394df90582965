// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AitbcBridgeApp} from "./AitbcBridgeApp.sol";

/// @notice Source side of an AITBC settlement: escrows the payment and sends the order to
/// the destination through LayerZero or CCIP. The escrow moves only when the destination
/// answers through the same bridge, from the peer the order went to: "paid" releases it to
/// the liquidity provider whose pool paid the recipient, "cancelled" refunds the payer.
/// This contract never reads a clock: the deadline is in destination time and is judged
/// only there (see docs/settlement.md).
contract AitbcSettlementSource is AitbcBridgeApp {
    enum State {
        None,
        Pending,
        Released,
        Refunded
    }

    struct Order {
        address payer;
        uint96 amount;
        uint8 bridge; // 1 = LayerZero, 2 = CCIP
        uint64 route; // destination eid / chain selector
        State state;
    }

    uint8 internal constant OUTCOME_PAID = 1;
    uint8 internal constant OUTCOME_CANCELLED = 2;

    mapping(bytes32 => Order) public orders; // settlement id => order
    mapping(bytes32 => bytes32) public messageOf; // settlement id => bridge message id
    mapping(bytes32 => bytes32) public openOrder; // keccak(payer, receiptHash) => settlement id

    event SettlementSent(
        bytes32 indexed settlementId, bytes32 indexed messageId, bytes32 indexed receiptHash, uint8 bridge, uint256 amount, uint256 fee
    );
    event EscrowReleased(bytes32 indexed settlementId, address liquidityProvider, uint256 amount);
    event SettlementRefunded(bytes32 indexed settlementId, address payer, uint256 amount);
    event ReportIgnored(bytes32 indexed settlementId, uint8 bridge, uint64 route, uint8 outcome);

    error AlreadyOpen(bytes32 settlementId);
    error InvalidOrder();

    constructor(address lzEndpoint_, address ccipRouter_, address delegate_)
        AitbcBridgeApp(lzEndpoint_, ccipRouter_, delegate_)
    {}

    /// @notice Our own id of a settlement, known before anything is sent.
    function settlementId(address payer, bytes32 receiptHash, address recipient, uint256 amount, uint64 deadline)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(payer, receiptHash, recipient, amount, deadline));
    }

    /// @notice The bytes the destination decodes.
    function encodeOrder(address payer, bytes32 receiptHash, address recipient, uint256 amount, uint64 deadline)
        public
        pure
        returns (bytes memory)
    {
        return abi.encode(payer, receiptHash, recipient, amount, deadline);
    }

    /// @notice Escrow `amount` and send the order to the destination on `route` over `bridge`.
    /// `deadline` is in the destination chain's time. One open settlement per (payer,
    /// receipt); another may be opened only after the previous one was refunded.
    function settle(
        uint8 bridge,
        uint64 route,
        bytes32 receiptHash,
        address recipient,
        uint96 amount,
        uint64 deadline,
        uint256 gasLimit
    ) external payable returns (bytes32 id, bytes32 messageId) {
        if (amount == 0 || recipient == address(0) || deadline == 0) revert InvalidOrder();
        id = settlementId(msg.sender, receiptHash, recipient, amount, deadline);
        _open(id, receiptHash, amount, bridge, route);
        messageId = _send(
            id, receiptHash, amount, bridge, route, encodeOrder(msg.sender, receiptHash, recipient, amount, deadline), gasLimit
        );
    }

    function _open(bytes32 id, bytes32 receiptHash, uint96 amount, uint8 bridge, uint64 route) internal {
        bytes32 slot = keccak256(abi.encode(msg.sender, receiptHash));
        bytes32 previous = openOrder[slot];
        if (previous != bytes32(0) && orders[previous].state != State.Refunded) revert AlreadyOpen(previous);
        if (orders[id].state != State.None) revert AlreadyOpen(id); // an id is used once
        openOrder[slot] = id;
        orders[id] = Order(msg.sender, amount, bridge, route, State.Pending);
    }

    function _send(
        bytes32 id,
        bytes32 receiptHash,
        uint96 amount,
        uint8 bridge,
        uint64 route,
        bytes memory payload,
        uint256 gasLimit
    ) internal returns (bytes32 messageId) {
        uint256 fee;
        (messageId, fee) = _sendMessage(bridge, route, payload, gasLimit);
        uint256 required = uint256(amount) + fee;
        if (msg.value < required) revert InsufficientValue(required, msg.value);
        messageOf[id] = messageId;
        emit SettlementSent(id, messageId, receiptHash, bridge, amount, fee);
        _pay(msg.sender, msg.value - required);
    }

    receive() external payable {} // fee refunds from the endpoint

    function _onMessage(uint8 bridge, uint64 route, bytes32, bytes calldata payload) internal override {
        (uint8 outcome, bytes32 id, address liquidityProvider) = abi.decode(payload, (uint8, bytes32, address));
        Order storage o = orders[id];
        // Only the destination the order went to, through the same bridge, may settle it;
        // a report for a finished or unknown order changes nothing (and must not revert, or
        // it would sit on the bridge as a failed message).
        if (o.state != State.Pending || o.bridge != bridge || o.route != route) {
            emit ReportIgnored(id, bridge, route, outcome);
            return;
        }
        if (outcome == OUTCOME_PAID) {
            o.state = State.Released;
            emit EscrowReleased(id, liquidityProvider, o.amount);
            _pay(liquidityProvider, o.amount);
        } else if (outcome == OUTCOME_CANCELLED) {
            o.state = State.Refunded;
            emit SettlementRefunded(id, o.payer, o.amount);
            _pay(o.payer, o.amount);
        } else {
            emit ReportIgnored(id, bridge, route, outcome);
        }
    }
}
