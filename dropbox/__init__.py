"""The drop's server: the reporter app, the responder API and the onion services.

Trust boundary: nothing in this package ever holds a responder's secret key or
a reporter's plaintext at rest (see docs/ARCHITECTURE.md).
"""
