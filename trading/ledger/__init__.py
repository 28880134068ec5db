"""The ledger: the durable record of alerts, plans, orders, fills and events."""
