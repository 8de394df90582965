// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Origin} from "./LayerZeroTypes.sol";
import {EVMTokenAmount, Any2EVMMessage} from "./CCIPTypes.sol";

/// @notice Destination side of an AITBC settlement. Accepts messages only from the LayerZero
/// endpoint / CCIP router it was deployed with, and only when they come from our source
/// contract on a known source chain; pays the recipient from its pre-funded pool; records
/// every receipt hash once, so a duplicated delivery reverts on chain.
contract AitbcSettlementDestination {
    address public owner;
    address public immutable lzEndpoint;
    address public immutable ccipRouter;
    mapping(uint32 => bytes32) public lzPeers;
    mapping(uint64 => address) public ccipPeers;
    mapping(bytes32 => bytes32) public settledBy; // receipt hash => message id

    event Settled(bytes32 indexed receiptHash, bytes32 indexed messageId, address recipient, uint256 amount);

    error Unauthorized();
    error UnknownPeer();
    error AlreadySettled(bytes32 receiptHash, bytes32 messageId);
    error Expired(uint64 deadline, uint256 nowTs);
    error PaymentFailed(address recipient, uint256 amount);

    constructor(address lzEndpoint_, address ccipRouter_) {
        owner = msg.sender;
        lzEndpoint = lzEndpoint_;
        ccipRouter = ccipRouter_;
    }

    receive() external payable {}

    function setLzPeer(uint32 srcEid, bytes32 peer) external {
        if (msg.sender != owner) revert Unauthorized();
        lzPeers[srcEid] = peer;
    }

    function setCcipPeer(uint64 sourceChainSelector, address peer) external {
        if (msg.sender != owner) revert Unauthorized();
        ccipPeers[sourceChainSelector] = peer;
    }

    function isSettled(bytes32 receiptHash) external view returns (bool) {
        return settledBy[receiptHash] != bytes32(0);
    }

    // --- LayerZero V2 receiver (OApp-compatible) ---

    function allowInitializePath(Origin calldata origin) external view returns (bool) {
        return lzPeers[origin.srcEid] == origin.sender && origin.sender != bytes32(0);
    }

    function nextNonce(uint32, bytes32) external pure returns (uint64) {
        return 0; // unordered delivery, as in the default OApp
    }

    function lzReceive(Origin calldata origin, bytes32 guid, bytes calldata message, address, bytes calldata)
        external
        payable
    {
        if (msg.sender != lzEndpoint) revert Unauthorized();
        if (origin.sender == bytes32(0) || lzPeers[origin.srcEid] != origin.sender) revert UnknownPeer();
        _settle(guid, message);
    }

    // --- CCIP receiver ---

    function ccipReceive(Any2EVMMessage calldata message) external {
        if (msg.sender != ccipRouter) revert Unauthorized();
        address sender = abi.decode(message.sender, (address));
        if (sender == address(0) || ccipPeers[message.sourceChainSelector] != sender) revert UnknownPeer();
        _settle(message.messageId, message.data);
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x85572ffb || interfaceId == 0x01ffc9a7; // IAny2EVMMessageReceiver, IERC165
    }

    function _settle(bytes32 messageId, bytes calldata payload) internal {
        (bytes32 receiptHash, address recipient, uint256 amount, uint64 deadline) =
            abi.decode(payload, (bytes32, address, uint256, uint64));
        bytes32 previous = settledBy[receiptHash];
        if (previous != bytes32(0)) revert AlreadySettled(receiptHash, previous);
        if (block.timestamp > deadline) revert Expired(deadline, block.timestamp);
        settledBy[receiptHash] = messageId;
        emit Settled(receiptHash, messageId, recipient, amount);
        (bool ok,) = recipient.call{value: amount}("");
        if (!ok) revert PaymentFailed(recipient, amount);
    }
}
