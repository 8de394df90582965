// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessagingParams, MessagingFee, MessagingReceipt, Origin, ILayerZeroEndpointV2Like} from "./LayerZeroTypes.sol";
import {EVMTokenAmount, EVM2AnyMessage, Any2EVMMessage, IRouterClientLike} from "./CCIPTypes.sol";

/// @notice What our source and destination contracts share: a LayerZero V2 OApp and a CCIP
/// receiver at once. Messages are accepted only from the configured endpoint / router and
/// only when they come from a registered peer; they reach `_onMessage` tagged with the
/// bridge and the remote route (LayerZero eid or CCIP chain selector) they came through.
abstract contract AitbcBridgeApp {
    uint8 internal constant LAYERZERO = 1;
    uint8 internal constant CCIP = 2;
    bytes4 internal constant GENERIC_EXTRA_ARGS_V2_TAG = 0x181dcf10;

    address public owner;
    ILayerZeroEndpointV2Like public immutable lzEndpoint;
    IRouterClientLike public immutable ccipRouter;
    mapping(uint32 => bytes32) public lzPeers;
    mapping(uint64 => address) public ccipPeers;

    error Unauthorized();
    error UnknownPeer();
    error UnknownBridge(uint8 bridge);
    error InsufficientValue(uint256 required, uint256 supplied);
    error TransferFailed();

    constructor(address lzEndpoint_, address ccipRouter_, address delegate_) {
        owner = msg.sender;
        lzEndpoint = ILayerZeroEndpointV2Like(lzEndpoint_);
        ccipRouter = IRouterClientLike(ccipRouter_);
        // The delegate may skip/clear/nilify/burn our inbound LayerZero nonces.
        ILayerZeroEndpointV2Like(lzEndpoint_).setDelegate(delegate_);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized();
        _;
    }

    function setLzPeer(uint32 eid, bytes32 peer) external onlyOwner {
        lzPeers[eid] = peer;
    }

    function setCcipPeer(uint64 chainSelector, address peer) external onlyOwner {
        ccipPeers[chainSelector] = peer;
    }

    function setDelegate(address delegate_) external onlyOwner {
        lzEndpoint.setDelegate(delegate_);
    }

    // --- LayerZero V2 receiver (OApp-compatible) ---

    function allowInitializePath(Origin calldata origin) external view returns (bool) {
        return lzPeers[origin.srcEid] == origin.sender && origin.sender != bytes32(0);
    }

    function nextNonce(uint32, bytes32) external pure returns (uint64) {
        return 0; // no ordering enforced by the app (the endpoint still orders verification)
    }

    function lzReceive(Origin calldata origin, bytes32 guid, bytes calldata message, address, bytes calldata)
        external
        payable
    {
        if (msg.sender != address(lzEndpoint)) revert Unauthorized();
        if (origin.sender == bytes32(0) || lzPeers[origin.srcEid] != origin.sender) revert UnknownPeer();
        _onMessage(LAYERZERO, origin.srcEid, guid, message);
    }

    // --- CCIP receiver ---

    function ccipReceive(Any2EVMMessage calldata message) external {
        if (msg.sender != address(ccipRouter)) revert Unauthorized();
        address sender = abi.decode(message.sender, (address));
        if (sender == address(0) || ccipPeers[message.sourceChainSelector] != sender) revert UnknownPeer();
        _onMessage(CCIP, message.sourceChainSelector, message.messageId, message.data);
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x85572ffb || interfaceId == 0x01ffc9a7; // IAny2EVMMessageReceiver, IERC165
    }

    // --- sending ---

    /// @notice The native fee of sending `payload` to `route` over `bridge` with `gasLimit`
    /// for the remote receiver.
    function quoteMessage(uint8 bridge, uint64 route, bytes memory payload, uint256 gasLimit)
        public
        view
        returns (uint256)
    {
        if (bridge == LAYERZERO) {
            return lzEndpoint.quote(_lzParams(uint32(route), payload, gasLimit), address(this)).nativeFee;
        }
        if (bridge == CCIP) return ccipRouter.getFee(route, _ccipMessage(route, payload, gasLimit));
        revert UnknownBridge(bridge);
    }

    /// @return messageId the bridge's id for the message (LayerZero GUID / CCIP message id,
    /// as returned by `send` / `ccipSend`)
    /// @return fee what the bridge was paid
    function _sendMessage(uint8 bridge, uint64 route, bytes memory payload, uint256 gasLimit)
        internal
        returns (bytes32 messageId, uint256 fee)
    {
        fee = quoteMessage(bridge, route, payload, gasLimit);
        if (bridge == LAYERZERO) {
            MessagingReceipt memory receipt =
                lzEndpoint.send{value: fee}(_lzParams(uint32(route), payload, gasLimit), address(this));
            messageId = receipt.guid;
        } else {
            messageId = ccipRouter.ccipSend{value: fee}(route, _ccipMessage(route, payload, gasLimit));
        }
    }

    function _lzParams(uint32 eid, bytes memory payload, uint256 gasLimit)
        internal
        view
        returns (MessagingParams memory)
    {
        bytes32 peer = lzPeers[eid];
        if (peer == bytes32(0)) revert UnknownPeer();
        // Type-3 options with one executor lzReceive option carrying the gas.
        bytes memory options = abi.encodePacked(uint16(3), uint8(1), uint16(17), uint8(1), uint128(gasLimit));
        return MessagingParams(eid, peer, payload, options, false);
    }

    function _ccipMessage(uint64 selector, bytes memory payload, uint256 gasLimit)
        internal
        view
        returns (EVM2AnyMessage memory)
    {
        address peer = ccipPeers[selector];
        if (peer == address(0)) revert UnknownPeer();
        bytes memory extraArgs = abi.encodePacked(GENERIC_EXTRA_ARGS_V2_TAG, abi.encode(gasLimit, true));
        return EVM2AnyMessage(abi.encode(peer), payload, new EVMTokenAmount[](0), address(0), extraArgs);
    }

    function _pay(address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function _onMessage(uint8 bridge, uint64 route, bytes32 messageId, bytes calldata payload) internal virtual;
}
