"""Brokers behind one port: paper (default), IBKR (via the gateway) and OANDA."""
