"""swift-codex development chain: JSON-RPC over eth-tester + py-evm."""
