"""Meldbox on the wire: scapy layers for its CoAP/COSE traffic, and a fuzzer."""
