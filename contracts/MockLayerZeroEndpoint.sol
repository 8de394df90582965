// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessagingParams, MessagingFee, MessagingReceipt, Origin, ILayerZeroReceiverLike} from "./LayerZeroTypes.sol";

/// @notice A local stand-in for LayerZero's EndpointV2 with the same external signatures.
/// Delivery is asynchronous: `send` only emits PacketSent; an off-chain relayer (playing
/// DVN and executor) later calls `verify` and then `lzReceive` on the destination endpoint.
/// A receiver that reverts reverts the whole `lzReceive`, so the payload stays verified
/// and anyone may retry it with more gas, as on the real endpoint.
contract MockLayerZeroEndpoint {
    enum ExecutionState {
        NotExecutable,
        VerifiedButNotExecutable,
        Executable,
        Executed
    }

    uint16 internal constant TYPE_3 = 3;
    uint8 internal constant WORKER_EXECUTOR = 1;
    uint8 internal constant OPTION_LZRECEIVE = 1;
    uint8 internal constant PACKET_VERSION = 1;

    uint32 public immutable eid;
    address public owner;
    address public verifier;
    uint256 public baseFee;
    uint256 public gasPrice;
    uint256 public feePerByte;

    mapping(address => mapping(uint32 => mapping(bytes32 => uint64))) public outboundNonce;
    mapping(address => mapping(uint32 => mapping(bytes32 => mapping(uint64 => bytes32)))) public inboundPayloadHash;
    mapping(address => mapping(uint32 => mapping(bytes32 => mapping(uint64 => bool)))) public executed;

    event PacketSent(bytes encodedPayload, bytes options, address sendLibrary);
    event PacketVerified(Origin origin, address receiver, bytes32 payloadHash);
    event PacketDelivered(Origin origin, address receiver);
    event LzReceiveAlert(
        address indexed receiver,
        address indexed executor,
        Origin origin,
        bytes32 guid,
        uint256 gas,
        uint256 value,
        bytes message,
        bytes extraData,
        bytes reason
    );

    error LZ_Unauthorized();
    error LZ_LzTokenUnavailable();
    error LZ_InsufficientFee(uint256 required, uint256 supplied);
    error LZ_InvalidOptions();
    error LZ_ZeroLzReceiveGas();
    error LZ_AlreadyExecuted();
    error LZ_PayloadHashNotFound(bytes32 expected, bytes32 actual);
    error LZ_RefundFailed();

    constructor(uint32 eid_, address verifier_, uint256 baseFee_, uint256 gasPrice_, uint256 feePerByte_) {
        eid = eid_;
        owner = msg.sender;
        verifier = verifier_;
        baseFee = baseFee_;
        gasPrice = gasPrice_;
        feePerByte = feePerByte_;
    }

    function setVerifier(address verifier_) external {
        if (msg.sender != owner) revert LZ_Unauthorized();
        verifier = verifier_;
    }

    function quote(MessagingParams calldata params, address) public view returns (MessagingFee memory) {
        if (params.payInLzToken) revert LZ_LzTokenUnavailable();
        uint256 gas = lzReceiveGas(params.options);
        return MessagingFee(baseFee + gas * gasPrice + params.message.length * feePerByte, 0);
    }

    function send(MessagingParams calldata params, address refundAddress)
        external
        payable
        returns (MessagingReceipt memory receipt)
    {
        MessagingFee memory fee = quote(params, msg.sender);
        if (msg.value < fee.nativeFee) revert LZ_InsufficientFee(fee.nativeFee, msg.value);
        uint64 nonce = ++outboundNonce[msg.sender][params.dstEid][params.receiver];
        bytes32 sender = bytes32(uint256(uint160(msg.sender)));
        bytes32 guid = keccak256(abi.encodePacked(nonce, eid, sender, params.dstEid, params.receiver));
        bytes memory packet =
            abi.encodePacked(PACKET_VERSION, nonce, eid, sender, params.dstEid, params.receiver, guid, params.message);
        emit PacketSent(packet, params.options, address(this));
        if (msg.value > fee.nativeFee) {
            (bool ok,) = refundAddress.call{value: msg.value - fee.nativeFee}("");
            if (!ok) revert LZ_RefundFailed();
        }
        return MessagingReceipt(guid, nonce, fee);
    }

    /// @notice Called by the configured verifier (the relayer's DVN role) on the destination.
    function verify(Origin calldata origin, address receiver, bytes32 payloadHash) external {
        if (msg.sender != verifier) revert LZ_Unauthorized();
        if (executed[receiver][origin.srcEid][origin.sender][origin.nonce]) revert LZ_AlreadyExecuted();
        inboundPayloadHash[receiver][origin.srcEid][origin.sender][origin.nonce] = payloadHash;
        emit PacketVerified(origin, receiver, payloadHash);
    }

    /// @notice Permissionless execution of a verified payload (executor, or anyone retrying).
    function lzReceive(
        Origin calldata origin,
        address receiver,
        bytes32 guid,
        bytes calldata message,
        bytes calldata extraData
    ) external payable {
        bytes32 expected = inboundPayloadHash[receiver][origin.srcEid][origin.sender][origin.nonce];
        bytes32 actual = keccak256(abi.encodePacked(guid, message));
        if (executed[receiver][origin.srcEid][origin.sender][origin.nonce]) revert LZ_AlreadyExecuted();
        if (expected == bytes32(0) || expected != actual) revert LZ_PayloadHashNotFound(expected, actual);
        executed[receiver][origin.srcEid][origin.sender][origin.nonce] = true;
        delete inboundPayloadHash[receiver][origin.srcEid][origin.sender][origin.nonce];
        ILayerZeroReceiverLike(receiver).lzReceive{value: msg.value}(origin, guid, message, msg.sender, extraData);
        emit PacketDelivered(origin, receiver);
    }

    /// @notice An executor reports a failed lzReceive so that the failure is visible on chain.
    function lzReceiveAlert(
        Origin calldata origin,
        address receiver,
        bytes32 guid,
        uint256 gas,
        uint256 value,
        bytes calldata message,
        bytes calldata extraData,
        bytes calldata reason
    ) external {
        emit LzReceiveAlert(receiver, msg.sender, origin, guid, gas, value, message, extraData, reason);
    }

    function executable(Origin calldata origin, address receiver) external view returns (ExecutionState) {
        if (executed[receiver][origin.srcEid][origin.sender][origin.nonce]) return ExecutionState.Executed;
        if (inboundPayloadHash[receiver][origin.srcEid][origin.sender][origin.nonce] != bytes32(0)) {
            return ExecutionState.Executable;
        }
        return ExecutionState.NotExecutable;
    }

    /// @notice Sum of executor lzReceive gas in type-3 options; reverts on any other format.
    function lzReceiveGas(bytes calldata options) public pure returns (uint256 gas) {
        if (options.length < 2 || uint16(bytes2(options[0:2])) != TYPE_3) revert LZ_InvalidOptions();
        uint256 cursor = 2;
        while (cursor < options.length) {
            if (cursor + 3 > options.length) revert LZ_InvalidOptions();
            uint8 worker = uint8(options[cursor]);
            uint256 size = uint16(bytes2(options[cursor + 1:cursor + 3]));
            uint256 start = cursor + 3;
            if (size == 0 || start + size > options.length) revert LZ_InvalidOptions();
            if (worker == WORKER_EXECUTOR && uint8(options[start]) == OPTION_LZRECEIVE) {
                if (size != 17 && size != 33) revert LZ_InvalidOptions();
                gas += uint128(bytes16(options[start + 1:start + 17]));
            }
            cursor = start + size;
        }
        if (gas == 0) revert LZ_ZeroLzReceiveGas();
    }
}
