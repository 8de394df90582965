// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EVMTokenAmount, EVM2AnyMessage, Any2EVMMessage, IAny2EVMMessageReceiverLike} from "./CCIPTypes.sol";

/// @notice A local stand-in for a Chainlink CCIP Router (plus the on/off-ramp roles) with the
/// real `getFee` / `ccipSend` signatures. Delivery is asynchronous: `ccipSend` emits
/// CCIPMessageSent; an off-chain relayer later `commit`s the message on the destination
/// router and `execute`s it. A failed execution is recorded as FAILURE (the transaction
/// itself succeeds, as on CCIP's OffRamp) and can be re-executed with a gas override.
///
/// Message ids are deterministic: keccak256(abi.encode(sourceSelector, destSelector,
/// sequenceNumber, sender, keccak256(receiver), keccak256(data), gasLimit)) where
/// sequenceNumber is the router's next outbound sequence number for destSelector.
contract MockCCIPRouter {
    enum MessageExecutionState {
        UNTOUCHED,
        IN_PROGRESS,
        SUCCESS,
        FAILURE
    }

    struct Committed {
        uint64 sourceChainSelector;
        uint64 sequenceNumber;
        address receiver;
        uint256 gasLimit;
        bytes sender;
        bytes data;
    }

    bytes4 public constant GENERIC_EXTRA_ARGS_V1_TAG = 0x97a657c9;
    bytes4 public constant GENERIC_EXTRA_ARGS_V2_TAG = 0x181dcf10;
    uint256 public constant DEFAULT_GAS_LIMIT = 200_000;

    uint64 public immutable chainSelector;
    address public owner;
    address public committer;
    uint256 public baseFee;
    uint256 public gasPrice;
    uint256 public feePerByte;

    mapping(uint64 => uint64) public outboundSequenceNumber;
    mapping(bytes32 => Committed) internal committed;
    mapping(bytes32 => MessageExecutionState) public getExecutionState;

    event CCIPMessageSent(
        uint64 indexed destChainSelector,
        uint64 indexed sequenceNumber,
        bytes32 indexed messageId,
        address sender,
        bytes receiver,
        bytes data,
        uint256 gasLimit,
        bool allowOutOfOrderExecution,
        uint256 feePaid
    );
    event MessageCommitted(bytes32 indexed messageId, uint64 indexed sourceChainSelector, uint64 sequenceNumber);
    event ExecutionStateChanged(
        uint64 indexed sourceChainSelector,
        uint64 indexed sequenceNumber,
        bytes32 indexed messageId,
        MessageExecutionState state,
        bytes returnData,
        uint256 gasUsed
    );

    error CCIP_Unauthorized();
    error CCIP_UnsupportedDestinationChain(uint64 destChainSelector);
    error CCIP_InsufficientFeeTokenAmount(uint256 required, uint256 supplied);
    error CCIP_UnsupportedFeeToken(address token);
    error CCIP_UnsupportedTokenTransfer();
    error CCIP_InvalidExtraArgsTag();
    error CCIP_InvalidEVMAddress(bytes encoded);
    error CCIP_AlreadyCommitted(bytes32 messageId);
    error CCIP_NotCommitted(bytes32 messageId);
    error CCIP_InvalidExecutionState(bytes32 messageId, MessageExecutionState state);
    error CCIP_GasOverrideTooLow(uint256 minimum, uint256 supplied);
    error CCIP_InsufficientGasForCall();

    constructor(uint64 chainSelector_, address committer_, uint256 baseFee_, uint256 gasPrice_, uint256 feePerByte_) {
        chainSelector = chainSelector_;
        owner = msg.sender;
        committer = committer_;
        baseFee = baseFee_;
        gasPrice = gasPrice_;
        feePerByte = feePerByte_;
    }

    function isChainSupported(uint64 destChainSelector) public view returns (bool) {
        return destChainSelector != 0 && destChainSelector != chainSelector;
    }

    function getFee(uint64 destinationChainSelector, EVM2AnyMessage calldata message) public view returns (uint256) {
        if (!isChainSupported(destinationChainSelector)) {
            revert CCIP_UnsupportedDestinationChain(destinationChainSelector);
        }
        if (message.feeToken != address(0)) revert CCIP_UnsupportedFeeToken(message.feeToken);
        if (message.tokenAmounts.length != 0) revert CCIP_UnsupportedTokenTransfer();
        (uint256 gasLimit,) = decodeExtraArgs(message.extraArgs);
        return baseFee + gasLimit * gasPrice + message.data.length * feePerByte;
    }

    function ccipSend(uint64 destinationChainSelector, EVM2AnyMessage calldata message)
        external
        payable
        returns (bytes32 messageId)
    {
        uint256 fee = getFee(destinationChainSelector, message);
        // CCIP keeps all of msg.value: an overpayment is not refunded.
        if (msg.value < fee) revert CCIP_InsufficientFeeTokenAmount(fee, msg.value);
        _decodeReceiver(message.receiver);
        (uint256 gasLimit, bool outOfOrder) = decodeExtraArgs(message.extraArgs);
        uint64 seq = ++outboundSequenceNumber[destinationChainSelector];
        messageId = _messageId(destinationChainSelector, seq, msg.sender, message, gasLimit);
        emit CCIPMessageSent(
            destinationChainSelector, seq, messageId, msg.sender, message.receiver, message.data, gasLimit, outOfOrder, msg.value
        );
    }

    /// @notice The id `ccipSend` would assign to `message` sent now by `sender`.
    function previewMessageId(uint64 destinationChainSelector, address sender, EVM2AnyMessage calldata message)
        external
        view
        returns (bytes32)
    {
        (uint256 gasLimit,) = decodeExtraArgs(message.extraArgs);
        uint64 seq = outboundSequenceNumber[destinationChainSelector] + 1;
        return _messageId(destinationChainSelector, seq, sender, message, gasLimit);
    }

    function decodeExtraArgs(bytes calldata extraArgs) public pure returns (uint256 gasLimit, bool outOfOrder) {
        if (extraArgs.length == 0) return (DEFAULT_GAS_LIMIT, false);
        if (extraArgs.length < 4) revert CCIP_InvalidExtraArgsTag();
        bytes4 tag = bytes4(extraArgs[0:4]);
        if (tag == GENERIC_EXTRA_ARGS_V2_TAG) return abi.decode(extraArgs[4:], (uint256, bool));
        if (tag == GENERIC_EXTRA_ARGS_V1_TAG) return (abi.decode(extraArgs[4:], (uint256)), false);
        revert CCIP_InvalidExtraArgsTag();
    }

    /// @notice Destination side, committer role: accept a message the source router emitted.
    function commit(
        bytes32 messageId,
        uint64 sourceChainSelector,
        uint64 sequenceNumber,
        bytes calldata sender,
        address receiver,
        bytes calldata data,
        uint256 gasLimit
    ) external {
        if (msg.sender != committer) revert CCIP_Unauthorized();
        if (committed[messageId].receiver != address(0)) revert CCIP_AlreadyCommitted(messageId);
        committed[messageId] = Committed(sourceChainSelector, sequenceNumber, receiver, gasLimit, sender, data);
        emit MessageCommitted(messageId, sourceChainSelector, sequenceNumber);
    }

    /// @notice Executor role (any caller): first execution of a committed message.
    function execute(bytes32 messageId) external {
        MessageExecutionState state = getExecutionState[messageId];
        if (state != MessageExecutionState.UNTOUCHED) revert CCIP_InvalidExecutionState(messageId, state);
        _execute(messageId, committed[messageId].gasLimit);
    }

    /// @notice Re-execute a FAILURE (or a committed message no executor ran) with a gas
    /// limit at least the original one; 0 keeps the original.
    function manuallyExecute(bytes32 messageId, uint256 gasLimitOverride) external {
        MessageExecutionState state = getExecutionState[messageId];
        if (state != MessageExecutionState.FAILURE && state != MessageExecutionState.UNTOUCHED) {
            revert CCIP_InvalidExecutionState(messageId, state);
        }
        uint256 minimum = committed[messageId].gasLimit;
        if (gasLimitOverride != 0 && gasLimitOverride < minimum) revert CCIP_GasOverrideTooLow(minimum, gasLimitOverride);
        _execute(messageId, gasLimitOverride == 0 ? minimum : gasLimitOverride);
    }

    function _execute(bytes32 messageId, uint256 gasLimit) internal {
        Committed storage m = committed[messageId];
        if (m.receiver == address(0)) revert CCIP_NotCommitted(messageId);
        // Like CCIP's callWithExactGas: refuse to start unless the full gas limit is available,
        // so an under-funded *transaction* cannot masquerade as a receiver failure.
        if (gasleft() < gasLimit + gasLimit / 63 + 10_000) revert CCIP_InsufficientGasForCall();
        getExecutionState[messageId] = MessageExecutionState.IN_PROGRESS;
        Any2EVMMessage memory message =
            Any2EVMMessage(messageId, m.sourceChainSelector, m.sender, m.data, new EVMTokenAmount[](0));
        uint256 before = gasleft();
        (bool ok, bytes memory ret) =
            m.receiver.call{gas: gasLimit}(abi.encodeCall(IAny2EVMMessageReceiverLike.ccipReceive, (message)));
        uint256 used = before - gasleft();
        MessageExecutionState result = ok ? MessageExecutionState.SUCCESS : MessageExecutionState.FAILURE;
        getExecutionState[messageId] = result;
        emit ExecutionStateChanged(m.sourceChainSelector, m.sequenceNumber, messageId, result, ret, used);
    }

    function getCommitted(bytes32 messageId) external view returns (Committed memory) {
        return committed[messageId];
    }

    function _messageId(uint64 dest, uint64 seq, address sender, EVM2AnyMessage calldata message, uint256 gasLimit)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(chainSelector, dest, seq, sender, keccak256(message.receiver), keccak256(message.data), gasLimit)
        );
    }

    function _decodeReceiver(bytes calldata encoded) internal pure returns (address) {
        if (encoded.length != 32) revert CCIP_InvalidEVMAddress(encoded);
        uint256 word = abi.decode(encoded, (uint256));
        if (word > type(uint160).max) revert CCIP_InvalidEVMAddress(encoded);
        return address(uint160(word));
    }
}
