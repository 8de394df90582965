// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Types and interfaces ABI-compatible with Chainlink CCIP v1.5 (Client and Internal
// libraries, IRouterClient, IRouter, IAny2EVMMessageReceiver, EVM2EVMOffRamp). Written from
// the published interface shapes; no CCIP source is copied.

struct EVMTokenAmount {
    address token;
    uint256 amount;
}

struct EVM2AnyMessage {
    bytes receiver;
    bytes data;
    EVMTokenAmount[] tokenAmounts;
    address feeToken;
    bytes extraArgs;
}

struct Any2EVMMessage {
    bytes32 messageId;
    uint64 sourceChainSelector;
    bytes sender;
    bytes data;
    EVMTokenAmount[] destTokenAmounts;
}

/// @notice The message an OnRamp emits in CCIPSendRequested and an OffRamp executes.
struct EVM2EVMMessage {
    uint64 sourceChainSelector;
    address sender;
    address receiver;
    uint64 sequenceNumber;
    uint256 gasLimit;
    bool strict;
    uint64 nonce;
    address feeToken;
    uint256 feeTokenAmount;
    bytes data;
    EVMTokenAmount[] tokenAmounts;
    bytes[] sourceTokenData;
    bytes32 messageId;
}

struct ExecutionReport {
    EVM2EVMMessage[] messages;
    bytes[][] offchainTokenData;
    bytes32[] proofs;
    uint256 proofFlagBits;
}

struct GasLimitOverride {
    uint256 receiverExecutionGasLimit;
    uint256[] tokenGasOverrides;
}

struct OffRampInfo {
    uint64 sourceChainSelector;
    address offRamp;
}

interface IRouterClientLike {
    function getFee(uint64 destinationChainSelector, EVM2AnyMessage calldata message)
        external
        view
        returns (uint256 fee);

    function ccipSend(uint64 destinationChainSelector, EVM2AnyMessage calldata message)
        external
        payable
        returns (bytes32 messageId);
}

interface IRouterLike {
    function routeMessage(Any2EVMMessage calldata message, uint16 gasForCallExactCheck, uint256 gasLimit, address receiver)
        external
        returns (bool success, bytes memory retData, uint256 gasUsed);
}

interface IAny2EVMMessageReceiverLike {
    function ccipReceive(Any2EVMMessage calldata message) external;
}
