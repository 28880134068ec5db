"""The trading domain: alerts, planning, the ledger and the brokers. No web or queue code."""
