"""Meldbox host tools (CPython): the hotline side, the simulator, provisioning."""
