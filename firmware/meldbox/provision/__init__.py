"""Provisioning over USB serial: framed requests (framing.py) applied by a service
(service.py) to the app's configuration, new trust anchors only after a panel press."""
