// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessagingParams, MessagingFee, MessagingReceipt, ILayerZeroEndpointV2Like} from "./LayerZeroTypes.sol";
import {EVMTokenAmount, EVM2AnyMessage, IRouterClientLike} from "./CCIPTypes.sol";

/// @notice Source side of an AITBC settlement: escrows the payment, sends the settlement
/// message through LayerZero or CCIP, and refunds the payer if no acknowledgement of the
/// delivery arrives before the message's deadline plus a grace period.
///
/// Safety argument: the destination refuses a message after its `deadline`; the acknowledger
/// (the relayer watching destination deliveries) must report a delivery within `ackGrace`;
/// `refund` opens only after `deadline + ackGrace`. So a delivered message is acknowledged
/// (and can no longer be refunded) and a dropped one is refundable.
contract AitbcSettlementSource {
    enum State {
        None,
        Pending,
        Acknowledged,
        Refunded
    }

    struct Settlement {
        address payer;
        uint96 amount;
        uint64 deadline;
        uint8 bridge; // 1 = LayerZero, 2 = CCIP
        State state;
        uint256 feePaid;
        bytes32 receiptHash;
    }

    address public owner;
    address public acknowledger;
    ILayerZeroEndpointV2Like public immutable lzEndpoint;
    IRouterClientLike public immutable ccipRouter;
    uint64 public immutable maxTimeout;
    uint64 public immutable ackGrace;
    mapping(bytes32 => Settlement) public settlements;

    event SettlementSent(bytes32 indexed messageId, bytes32 indexed receiptHash, uint8 bridge, uint256 amount, uint256 fee);
    event SettlementAcknowledged(bytes32 indexed messageId);
    event SettlementRefunded(bytes32 indexed messageId, address payer, uint256 amount);

    error Unauthorized();
    error InvalidDeadline(uint64 deadline, uint256 nowTs);
    error InsufficientValue(uint256 required, uint256 supplied);
    error MessageIdMismatch(bytes32 expected, bytes32 actual);
    error UnknownSettlement(bytes32 messageId);
    error NotPending(bytes32 messageId, State state);
    error RefundNotYetAvailable(bytes32 messageId, uint256 availableAt);
    error TransferFailed();

    constructor(address lzEndpoint_, address ccipRouter_, address acknowledger_, uint64 maxTimeout_, uint64 ackGrace_) {
        owner = msg.sender;
        lzEndpoint = ILayerZeroEndpointV2Like(lzEndpoint_);
        ccipRouter = IRouterClientLike(ccipRouter_);
        acknowledger = acknowledger_;
        maxTimeout = maxTimeout_;
        ackGrace = ackGrace_;
    }

    function setAcknowledger(address acknowledger_) external {
        if (msg.sender != owner) revert Unauthorized();
        acknowledger = acknowledger_;
    }

    /// @notice The bytes the destination contract decodes.
    function encodePayload(bytes32 receiptHash, address recipient, uint256 amount, uint64 deadline)
        public
        pure
        returns (bytes memory)
    {
        return abi.encode(receiptHash, recipient, amount, deadline);
    }

    function settleViaLayerZero(
        bytes32 expectedGuid,
        bytes32 receiptHash,
        address recipient,
        uint96 amount,
        uint64 deadline,
        uint32 dstEid,
        bytes32 dstReceiver,
        bytes calldata options
    ) external payable returns (bytes32 guid) {
        _checkDeadline(deadline);
        MessagingParams memory params =
            MessagingParams(dstEid, dstReceiver, encodePayload(receiptHash, recipient, amount, deadline), options, false);
        MessagingFee memory fee = lzEndpoint.quote(params, address(this));
        uint256 excess = _checkValue(amount, fee.nativeFee);
        MessagingReceipt memory receipt = lzEndpoint.send{value: fee.nativeFee}(params, msg.sender);
        guid = receipt.guid;
        if (guid != expectedGuid) revert MessageIdMismatch(expectedGuid, guid);
        _record(guid, receiptHash, amount, deadline, 1, fee.nativeFee);
        _returnExcess(excess);
    }

    function settleViaCcip(
        bytes32 expectedMessageId,
        bytes32 receiptHash,
        address recipient,
        uint96 amount,
        uint64 deadline,
        uint64 destSelector,
        address dstReceiver,
        bytes calldata extraArgs
    ) external payable returns (bytes32 messageId) {
        _checkDeadline(deadline);
        EVM2AnyMessage memory message = EVM2AnyMessage(
            abi.encode(dstReceiver),
            encodePayload(receiptHash, recipient, amount, deadline),
            new EVMTokenAmount[](0),
            address(0),
            extraArgs
        );
        uint256 fee = ccipRouter.getFee(destSelector, message);
        uint256 excess = _checkValue(amount, fee);
        messageId = ccipRouter.ccipSend{value: fee}(destSelector, message);
        if (messageId != expectedMessageId) revert MessageIdMismatch(expectedMessageId, messageId);
        _record(messageId, receiptHash, amount, deadline, 2, fee);
        _returnExcess(excess);
    }

    /// @notice The acknowledger reports that the destination executed `messageId`.
    function acknowledge(bytes32 messageId) external {
        if (msg.sender != acknowledger) revert Unauthorized();
        Settlement storage s = _pending(messageId);
        s.state = State.Acknowledged;
        emit SettlementAcknowledged(messageId);
    }

    /// @notice Anyone may trigger the refund to the payer once it is available.
    function refund(bytes32 messageId) external {
        Settlement storage s = _pending(messageId);
        uint256 availableAt = refundAvailableAt(messageId);
        if (block.timestamp < availableAt) revert RefundNotYetAvailable(messageId, availableAt);
        s.state = State.Refunded;
        emit SettlementRefunded(messageId, s.payer, s.amount);
        (bool ok,) = s.payer.call{value: s.amount}("");
        if (!ok) revert TransferFailed();
    }

    function refundAvailableAt(bytes32 messageId) public view returns (uint256) {
        return uint256(settlements[messageId].deadline) + ackGrace + 1;
    }

    function _checkDeadline(uint64 deadline) internal view {
        if (deadline <= block.timestamp || deadline > block.timestamp + maxTimeout) {
            revert InvalidDeadline(deadline, block.timestamp);
        }
    }

    /// @return excess what the caller sent beyond amount + fee (returned last, after all
    /// state is written, so a re-entering caller finds a consistent contract).
    function _checkValue(uint96 amount, uint256 fee) internal view returns (uint256 excess) {
        uint256 required = uint256(amount) + fee;
        if (msg.value < required) revert InsufficientValue(required, msg.value);
        return msg.value - required;
    }

    function _returnExcess(uint256 excess) internal {
        if (excess == 0) return;
        (bool ok,) = msg.sender.call{value: excess}("");
        if (!ok) revert TransferFailed();
    }

    function _record(bytes32 id, bytes32 receiptHash, uint96 amount, uint64 deadline, uint8 bridge, uint256 fee) internal {
        settlements[id] = Settlement(msg.sender, amount, deadline, bridge, State.Pending, fee, receiptHash);
        emit SettlementSent(id, receiptHash, bridge, amount, fee);
    }

    function _pending(bytes32 messageId) internal view returns (Settlement storage s) {
        s = settlements[messageId];
        if (s.state == State.None) revert UnknownSettlement(messageId);
        if (s.state != State.Pending) revert NotPending(messageId, s.state);
    }
}
