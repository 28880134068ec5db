"""The IB gateway process: holds the TWS API socket, serves RPCs over Redis, publishes
order events. The only package that imports ib_async."""
