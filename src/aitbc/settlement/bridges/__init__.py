"""Bridge adapters. Built in: ``layerzero`` and ``ccip`` (alias ``chainlink``)."""
