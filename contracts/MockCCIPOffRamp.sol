// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EVMTokenAmount, Any2EVMMessage, EVM2EVMMessage, ExecutionReport, GasLimitOverride, IRouterLike} from "./CCIPTypes.sol";

/// @notice A local stand-in for a CCIP v1.5 EVM2EVMOffRamp (one source lane): execution
/// state by sequence number (`getExecutionState(uint64)`), `manuallyExecute` with receiver
/// gas overrides, and `ExecutionStateChanged` events with the real signature. The relayer
/// plays the commit DON (`commit`) and the execution DON (`execute`, the stand-in for the
/// OCR `transmit`). A receiver failure is recorded as FAILURE (the transaction itself
/// succeeds); a transaction with too little gas for the receiver reverts as a whole and
/// leaves the message UNTOUCHED, so either way it can be manually executed.
contract MockCCIPOffRamp {
    enum MessageExecutionState {
        UNTOUCHED,
        IN_PROGRESS,
        SUCCESS,
        FAILURE
    }

    uint16 internal constant GAS_FOR_CALL_EXACT_CHECK = 5_000;

    uint64 public immutable sourceChainSelector;
    uint64 public immutable chainSelector;
    address public immutable onRamp;
    IRouterLike public immutable router;
    address public transmitter;

    mapping(uint64 => MessageExecutionState) internal states;
    mapping(bytes32 => bool) public committed; // message id => committed

    event ExecutionStateChanged(
        uint64 indexed sequenceNumber, bytes32 indexed messageId, MessageExecutionState state, bytes returnData
    );
    event Committed(bytes32 indexed messageId, uint64 indexed sequenceNumber);

    error Unauthorized();
    error RootNotCommitted(bytes32 messageId);
    error AlreadyExecuted(uint64 sequenceNumber);
    error InvalidSourceChain(uint64 sourceChainSelector);
    error InvalidManualExecutionGasLimit(bytes32 messageId, uint256 oldLimit, uint256 newLimit);
    error ManualExecutionGasLimitMismatch();
    error EmptyReport();

    constructor(uint64 sourceChainSelector_, uint64 chainSelector_, address onRamp_, address router_, address transmitter_) {
        sourceChainSelector = sourceChainSelector_;
        chainSelector = chainSelector_;
        onRamp = onRamp_;
        router = IRouterLike(router_);
        transmitter = transmitter_;
    }

    function getExecutionState(uint64 sequenceNumber) external view returns (MessageExecutionState) {
        return states[sequenceNumber];
    }

    /// @notice Commit DON role: the message ids whose merkle root would now be committed.
    function commit(bytes32[] calldata messageIds, uint64[] calldata sequenceNumbers) external {
        if (msg.sender != transmitter) revert Unauthorized();
        for (uint256 i = 0; i < messageIds.length; ++i) {
            committed[messageIds[i]] = true;
            emit Committed(messageIds[i], sequenceNumbers[i]);
        }
    }

    /// @notice Execution DON role: run each committed, untouched message with its own gas limit.
    function execute(ExecutionReport calldata report) external {
        if (msg.sender != transmitter) revert Unauthorized();
        for (uint256 i = 0; i < report.messages.length; ++i) {
            EVM2EVMMessage calldata m = report.messages[i];
            if (states[m.sequenceNumber] != MessageExecutionState.UNTOUCHED) continue;
            _execute(m, m.gasLimit);
        }
    }

    /// @notice Anyone may re-run an UNTOUCHED or FAILURE message; an override of 0 keeps the
    /// message's gas limit, a non-zero one must not be lower.
    function manuallyExecute(ExecutionReport calldata report, GasLimitOverride[] calldata gasLimitOverrides) external {
        if (report.messages.length == 0) revert EmptyReport();
        if (gasLimitOverrides.length != report.messages.length) revert ManualExecutionGasLimitMismatch();
        for (uint256 i = 0; i < report.messages.length; ++i) {
            EVM2EVMMessage calldata m = report.messages[i];
            uint256 limit = gasLimitOverrides[i].receiverExecutionGasLimit;
            if (limit != 0 && limit < m.gasLimit) revert InvalidManualExecutionGasLimit(m.messageId, m.gasLimit, limit);
            MessageExecutionState state = states[m.sequenceNumber];
            if (state != MessageExecutionState.UNTOUCHED && state != MessageExecutionState.FAILURE) {
                revert AlreadyExecuted(m.sequenceNumber);
            }
            _execute(m, limit == 0 ? m.gasLimit : limit);
        }
    }

    function _execute(EVM2EVMMessage calldata m, uint256 gasLimit) internal {
        if (m.sourceChainSelector != sourceChainSelector) revert InvalidSourceChain(m.sourceChainSelector);
        if (!committed[m.messageId]) revert RootNotCommitted(m.messageId);
        states[m.sequenceNumber] = MessageExecutionState.IN_PROGRESS;
        Any2EVMMessage memory message =
            Any2EVMMessage(m.messageId, m.sourceChainSelector, abi.encode(m.sender), m.data, new EVMTokenAmount[](0));
        (bool ok, bytes memory ret,) = router.routeMessage(message, GAS_FOR_CALL_EXACT_CHECK, gasLimit, m.receiver);
        MessageExecutionState result = ok ? MessageExecutionState.SUCCESS : MessageExecutionState.FAILURE;
        states[m.sequenceNumber] = result;
        emit ExecutionStateChanged(m.sequenceNumber, m.messageId, result, ret);
    }
}
