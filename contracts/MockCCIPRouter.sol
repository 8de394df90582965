// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {
    EVMTokenAmount,
    EVM2AnyMessage,
    Any2EVMMessage,
    EVM2EVMMessage,
    OffRampInfo,
    IAny2EVMMessageReceiverLike
} from "./CCIPTypes.sol";

/// @notice A local stand-in for a Chainlink CCIP v1.5 Router with the real `getFee`,
/// `ccipSend`, `isChainSupported`, `getOffRamps`, `isOffRamp` and `routeMessage`
/// signatures. It also plays the OnRamp: `ccipSend` emits `CCIPSendRequested` with the
/// whole EVM2EVMMessage (the real OnRamp does), whose id hashes the whole message, so
/// nobody can predict it: senders take it from `ccipSend`'s return value or the event.
/// Receivers are called only through `routeMessage` by a registered OffRamp.
contract MockCCIPRouter {
    bytes4 public constant GENERIC_EXTRA_ARGS_V1_TAG = 0x97a657c9;
    bytes4 public constant GENERIC_EXTRA_ARGS_V2_TAG = 0x181dcf10;
    uint256 public constant DEFAULT_GAS_LIMIT = 200_000;
    bytes32 internal constant METADATA_TAG = keccak256("EVM2EVMMessageHashV2");

    uint64 public immutable chainSelector;
    address public owner;
    uint256 public baseFee;
    uint256 public gasPrice;
    uint256 public feePerByte;

    mapping(uint64 => uint64) internal outboundSequence;
    mapping(uint64 => mapping(address => uint64)) internal senderNonce;
    mapping(uint64 => address) internal offRampOf;
    uint64[] internal offRampSources;

    event CCIPSendRequested(EVM2EVMMessage message);
    event OffRampAdded(uint64 indexed sourceChainSelector, address offRamp);

    error CCIP_Unauthorized();
    error UnsupportedDestinationChain(uint64 destChainSelector);
    error InsufficientFeeTokenAmount();
    error UnsupportedFeeToken(address token);
    error UnsupportedTokenTransfer();
    error InvalidExtraArgsTag();
    error InvalidEVMAddress(bytes encoded);
    error OnlyOffRamp();
    error InsufficientGasForCallWithExact();

    constructor(uint64 chainSelector_, uint256 baseFee_, uint256 gasPrice_, uint256 feePerByte_) {
        chainSelector = chainSelector_;
        owner = msg.sender;
        baseFee = baseFee_;
        gasPrice = gasPrice_;
        feePerByte = feePerByte_;
    }

    function setOffRamp(uint64 sourceChainSelector, address offRamp) external {
        if (msg.sender != owner) revert CCIP_Unauthorized();
        if (offRampOf[sourceChainSelector] == address(0)) offRampSources.push(sourceChainSelector);
        offRampOf[sourceChainSelector] = offRamp;
        emit OffRampAdded(sourceChainSelector, offRamp);
    }

    function getOffRamps() external view returns (OffRampInfo[] memory ramps) {
        ramps = new OffRampInfo[](offRampSources.length);
        for (uint256 i = 0; i < offRampSources.length; ++i) {
            ramps[i] = OffRampInfo(offRampSources[i], offRampOf[offRampSources[i]]);
        }
    }

    function isOffRamp(uint64 sourceChainSelector, address offRamp) public view returns (bool) {
        return offRamp != address(0) && offRampOf[sourceChainSelector] == offRamp;
    }

    function isChainSupported(uint64 destChainSelector) public view returns (bool) {
        return destChainSelector != 0 && destChainSelector != chainSelector;
    }

    function getFee(uint64 destinationChainSelector, EVM2AnyMessage calldata message) public view returns (uint256) {
        if (!isChainSupported(destinationChainSelector)) {
            revert UnsupportedDestinationChain(destinationChainSelector);
        }
        if (message.feeToken != address(0)) revert UnsupportedFeeToken(message.feeToken);
        if (message.tokenAmounts.length != 0) revert UnsupportedTokenTransfer();
        (uint256 gasLimit,) = decodeExtraArgs(message.extraArgs);
        return baseFee + gasLimit * gasPrice + message.data.length * feePerByte;
    }

    function ccipSend(uint64 destinationChainSelector, EVM2AnyMessage calldata message)
        external
        payable
        returns (bytes32)
    {
        uint256 fee = getFee(destinationChainSelector, message);
        // CCIP keeps all of msg.value: an overpayment is not refunded.
        if (msg.value < fee) revert InsufficientFeeTokenAmount();
        address receiver = _decodeReceiver(message.receiver);
        (uint256 gasLimit, bool outOfOrder) = decodeExtraArgs(message.extraArgs);
        EVM2EVMMessage memory m = EVM2EVMMessage({
            sourceChainSelector: chainSelector,
            sender: msg.sender,
            receiver: receiver,
            sequenceNumber: ++outboundSequence[destinationChainSelector],
            gasLimit: gasLimit,
            strict: false,
            nonce: outOfOrder ? 0 : ++senderNonce[destinationChainSelector][msg.sender],
            feeToken: address(0),
            feeTokenAmount: msg.value,
            data: message.data,
            tokenAmounts: new EVMTokenAmount[](0),
            sourceTokenData: new bytes[](0),
            messageId: bytes32(0)
        });
        m.messageId = hashMessage(m, destinationChainSelector);
        emit CCIPSendRequested(m);
        return m.messageId;
    }

    /// @notice The id of `m`: a hash over the whole message and its lane.
    function hashMessage(EVM2EVMMessage memory m, uint64 destChainSelector) public pure returns (bytes32) {
        bytes32 metadata = keccak256(abi.encode(METADATA_TAG, m.sourceChainSelector, destChainSelector));
        return keccak256(
            abi.encode(
                metadata,
                m.sender,
                m.receiver,
                m.sequenceNumber,
                m.gasLimit,
                m.strict,
                m.nonce,
                m.feeToken,
                m.feeTokenAmount,
                keccak256(m.data)
            )
        );
    }

    function decodeExtraArgs(bytes calldata extraArgs) public pure returns (uint256 gasLimit, bool outOfOrder) {
        if (extraArgs.length == 0) return (DEFAULT_GAS_LIMIT, false);
        if (extraArgs.length < 4) revert InvalidExtraArgsTag();
        bytes4 tag = bytes4(extraArgs[0:4]);
        if (tag == GENERIC_EXTRA_ARGS_V2_TAG) return abi.decode(extraArgs[4:], (uint256, bool));
        if (tag == GENERIC_EXTRA_ARGS_V1_TAG) return (abi.decode(extraArgs[4:], (uint256)), false);
        revert InvalidExtraArgsTag();
    }

    /// @notice OffRamp role: call the receiver with exactly `gasLimit` gas.
    function routeMessage(Any2EVMMessage calldata message, uint16 gasForCallExactCheck, uint256 gasLimit, address receiver)
        external
        returns (bool success, bytes memory retData, uint256 gasUsed)
    {
        if (!isOffRamp(message.sourceChainSelector, msg.sender)) revert OnlyOffRamp();
        // Like CCIP's callWithExactGas: refuse to start unless the full gas limit is available,
        // so an under-funded *transaction* cannot masquerade as a receiver failure.
        if (gasleft() < gasLimit + gasLimit / 63 + gasForCallExactCheck) revert InsufficientGasForCallWithExact();
        uint256 before = gasleft();
        (success, retData) =
            receiver.call{gas: gasLimit}(abi.encodeCall(IAny2EVMMessageReceiverLike.ccipReceive, (message)));
        gasUsed = before - gasleft();
    }

    function _decodeReceiver(bytes calldata encoded) internal pure returns (address) {
        if (encoded.length != 32) revert InvalidEVMAddress(encoded);
        uint256 word = abi.decode(encoded, (uint256));
        if (word > type(uint160).max) revert InvalidEVMAddress(encoded);
        return address(uint160(word));
    }
}
