// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A payee for tests: refuses payments while `accepting` is false, so a delivery to
/// it reverts (the "reverting receiver" case) until it is switched back on.
contract TestRecipient {
    address public owner;
    bool public accepting;

    error NotAccepting();

    constructor(bool accepting_) {
        owner = msg.sender;
        accepting = accepting_;
    }

    function setAccepting(bool accepting_) external {
        require(msg.sender == owner, "owner only");
        accepting = accepting_;
    }

    receive() external payable {
        if (!accepting) revert NotAccepting();
    }
}
