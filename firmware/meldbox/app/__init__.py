"""The appliance: intake of notices, the receipt ledger, the outbox, clock trust, wiring."""
