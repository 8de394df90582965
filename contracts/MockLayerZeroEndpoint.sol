// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessagingParams, MessagingFee, MessagingReceipt, Origin, ILayerZeroReceiverLike} from "./LayerZeroTypes.sol";

/// @notice A local stand-in for LayerZero's EndpointV2 with the same external signatures and
/// the same inbound rules. Delivery is asynchronous: `send` only emits PacketSent; an
/// off-chain relayer (playing DVN/receive library and executor) later calls `verify` and
/// then `lzReceive` on the destination endpoint. As on the real endpoint:
/// - nonce n of a path executes only when every nonce up to n is verified (`inboundNonce`
///   is the lazy nonce advanced over consecutive verified payloads), so one lost message
///   blocks the later ones until the OApp's delegate `skip`s it;
/// - a receiver that reverts reverts the whole `lzReceive`: the payload stays verified and
///   anyone may retry it with more gas;
/// - the OApp or its delegate may `skip`, `clear`, `nilify` or `burn` inbound nonces.
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

    bytes32 internal constant EMPTY_PAYLOAD_HASH = bytes32(0);
    bytes32 internal constant NIL_PAYLOAD_HASH = bytes32(type(uint256).max);

    mapping(address => mapping(uint32 => mapping(bytes32 => uint64))) public outboundNonce;
    mapping(address => mapping(uint32 => mapping(bytes32 => uint64))) public lazyInboundNonce;
    mapping(address => mapping(uint32 => mapping(bytes32 => mapping(uint64 => bytes32)))) public inboundPayloadHash;
    mapping(address => address) public delegates;

    event PacketSent(bytes encodedPayload, bytes options, address sendLibrary);
    event PacketVerified(Origin origin, address receiver, bytes32 payloadHash);
    event PacketDelivered(Origin origin, address receiver);
    event InboundNonceSkipped(uint32 srcEid, bytes32 sender, address receiver, uint64 nonce);
    event PacketNilified(uint32 srcEid, bytes32 sender, address receiver, uint64 nonce, bytes32 payloadHash);
    event PacketBurnt(uint32 srcEid, bytes32 sender, address receiver, uint64 nonce, bytes32 payloadHash);
    event DelegateSet(address sender, address delegate);
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
    error LZ_InvalidNonce(uint64 nonce);
    error LZ_PathNotInitializable();
    error LZ_PathNotVerifiable();
    error LZ_InvalidPayloadHash();

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

    function setDelegate(address delegate) external {
        delegates[msg.sender] = delegate;
        emit DelegateSet(msg.sender, delegate);
    }

    /// @notice Receive-library role (the relayer's DVN): record a verified payload hash.
    function verify(Origin calldata origin, address receiver, bytes32 payloadHash) external {
        if (msg.sender != verifier) revert LZ_Unauthorized();
        uint64 lazyNonce = lazyInboundNonce[receiver][origin.srcEid][origin.sender];
        if (lazyNonce == 0 && !ILayerZeroReceiverLike(receiver).allowInitializePath(origin)) {
            revert LZ_PathNotInitializable();
        }
        if (origin.nonce <= lazyNonce && !_hasPayloadHash(receiver, origin.srcEid, origin.sender, origin.nonce)) {
            revert LZ_PathNotVerifiable();
        }
        if (payloadHash == EMPTY_PAYLOAD_HASH) revert LZ_InvalidPayloadHash();
        inboundPayloadHash[receiver][origin.srcEid][origin.sender][origin.nonce] = payloadHash;
        emit PacketVerified(origin, receiver, payloadHash);
    }

    /// @notice The highest nonce up to which every payload is verified (or executed/skipped).
    function inboundNonce(address receiver, uint32 srcEid, bytes32 sender) public view returns (uint64 nonce) {
        nonce = lazyInboundNonce[receiver][srcEid][sender];
        while (_hasPayloadHash(receiver, srcEid, sender, nonce + 1)) {
            ++nonce;
        }
    }

    /// @notice Permissionless execution of a verified payload (executor, or anyone retrying).
    function lzReceive(
        Origin calldata origin,
        address receiver,
        bytes32 guid,
        bytes calldata message,
        bytes calldata extraData
    ) external payable {
        _clearPayload(receiver, origin.srcEid, origin.sender, origin.nonce, abi.encodePacked(guid, message));
        ILayerZeroReceiverLike(receiver).lzReceive{value: msg.value}(origin, guid, message, msg.sender, extraData);
        emit PacketDelivered(origin, receiver);
    }

    /// @notice The OApp (or its delegate) consumes a verified payload without executing it.
    function clear(address oapp, Origin calldata origin, bytes32 guid, bytes calldata message) external {
        _assertAuthorized(oapp);
        _clearPayload(oapp, origin.srcEid, origin.sender, origin.nonce, abi.encodePacked(guid, message));
        emit PacketDelivered(origin, oapp);
    }

    /// @notice Skip the next unverified nonce: it can never be verified or executed after.
    function skip(address oapp, uint32 srcEid, bytes32 sender, uint64 nonce) external {
        _assertAuthorized(oapp);
        if (nonce != inboundNonce(oapp, srcEid, sender) + 1) revert LZ_InvalidNonce(nonce);
        lazyInboundNonce[oapp][srcEid][sender] = nonce;
        emit InboundNonceSkipped(srcEid, sender, oapp, nonce);
    }

    /// @notice Mark a nonce (verified or not yet) as nil: it counts as verified for ordering
    /// but can only execute after being verified again.
    function nilify(address oapp, uint32 srcEid, bytes32 sender, uint64 nonce, bytes32 payloadHash) external {
        _assertAuthorized(oapp);
        bytes32 current = inboundPayloadHash[oapp][srcEid][sender][nonce];
        if (current != payloadHash) revert LZ_PayloadHashNotFound(current, payloadHash);
        if (nonce <= lazyInboundNonce[oapp][srcEid][sender] && current == EMPTY_PAYLOAD_HASH) {
            revert LZ_InvalidNonce(nonce);
        }
        inboundPayloadHash[oapp][srcEid][sender][nonce] = NIL_PAYLOAD_HASH;
        emit PacketNilified(srcEid, sender, oapp, nonce, payloadHash);
    }

    /// @notice Delete a verified payload at or below the lazy nonce for good.
    function burn(address oapp, uint32 srcEid, bytes32 sender, uint64 nonce, bytes32 payloadHash) external {
        _assertAuthorized(oapp);
        bytes32 current = inboundPayloadHash[oapp][srcEid][sender][nonce];
        if (current != payloadHash) revert LZ_PayloadHashNotFound(current, payloadHash);
        if (current == EMPTY_PAYLOAD_HASH || nonce > lazyInboundNonce[oapp][srcEid][sender]) {
            revert LZ_InvalidNonce(nonce);
        }
        delete inboundPayloadHash[oapp][srcEid][sender][nonce];
        emit PacketBurnt(srcEid, sender, oapp, nonce, payloadHash);
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
        bytes32 payloadHash = inboundPayloadHash[receiver][origin.srcEid][origin.sender][origin.nonce];
        if (origin.nonce <= lazyInboundNonce[receiver][origin.srcEid][origin.sender] && payloadHash == EMPTY_PAYLOAD_HASH) {
            return ExecutionState.Executed;
        }
        if (
            payloadHash != EMPTY_PAYLOAD_HASH && payloadHash != NIL_PAYLOAD_HASH
                && origin.nonce <= inboundNonce(receiver, origin.srcEid, origin.sender)
        ) return ExecutionState.Executable;
        if (payloadHash != EMPTY_PAYLOAD_HASH && payloadHash != NIL_PAYLOAD_HASH) {
            return ExecutionState.VerifiedButNotExecutable;
        }
        return ExecutionState.NotExecutable;
    }

    function _hasPayloadHash(address receiver, uint32 srcEid, bytes32 sender, uint64 nonce) internal view returns (bool) {
        return inboundPayloadHash[receiver][srcEid][sender][nonce] != EMPTY_PAYLOAD_HASH;
    }

    function _clearPayload(address receiver, uint32 srcEid, bytes32 sender, uint64 nonce, bytes memory payload)
        internal
    {
        uint64 current = lazyInboundNonce[receiver][srcEid][sender];
        if (nonce > current) {
            for (uint64 i = current + 1; i < nonce; ++i) {
                if (!_hasPayloadHash(receiver, srcEid, sender, i)) revert LZ_InvalidNonce(i);
            }
            lazyInboundNonce[receiver][srcEid][sender] = nonce;
        }
        bytes32 expected = inboundPayloadHash[receiver][srcEid][sender][nonce];
        bytes32 actual = keccak256(payload);
        if (expected != actual) revert LZ_PayloadHashNotFound(expected, actual);
        delete inboundPayloadHash[receiver][srcEid][sender][nonce];
    }

    function _assertAuthorized(address oapp) internal view {
        if (msg.sender != oapp && msg.sender != delegates[oapp]) revert LZ_Unauthorized();
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
