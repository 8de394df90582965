// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Types and interfaces ABI-compatible with Chainlink CCIP (Client library, IRouterClient,
// IAny2EVMMessageReceiver). Written from the published interface shapes; no CCIP source is copied.

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

interface IRouterClientLike {
    function getFee(uint64 destinationChainSelector, EVM2AnyMessage calldata message)
        external
        view
        returns (uint256 fee);

    function ccipSend(uint64 destinationChainSelector, EVM2AnyMessage calldata message)
        external
        payable
        returns (bytes32 messageId);

    function previewMessageId(uint64 destinationChainSelector, address sender, EVM2AnyMessage calldata message)
        external
        view
        returns (bytes32 messageId);
}

interface IAny2EVMMessageReceiverLike {
    function ccipReceive(Any2EVMMessage calldata message) external;
}
