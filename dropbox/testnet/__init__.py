"""A private Tor network on 127.0.0.1 for the tests and `dropbox demo`.

Relays are non-exits and every socket binds 127.0.0.1: nothing leaves the machine.
"""

from dropbox.testnet.network import NetworkInfo, TestNetwork, signal_recorded_network

__all__ = ["NetworkInfo", "TestNetwork", "signal_recorded_network"]
