"""Protocol core: CBOR, SHA-512, Ed25519, COSE_Sign1, notices and receipts (PROTOCOL.md)."""
