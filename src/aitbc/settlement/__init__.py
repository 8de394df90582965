"""Cross-chain settlement: messages, the bridge manager, its store and bridge adapters."""
