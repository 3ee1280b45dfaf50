"""Meldbox firmware: takes signed takedown notices, keeps them, answers with signed receipts."""
VERSION = "0.1.0"
