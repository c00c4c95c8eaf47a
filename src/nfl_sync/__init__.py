"""The NFL real-time pipeline: ESPN and Kalshi polled, stored in PostgreSQL, alerted to Telegram.

The folders are the architecture: `domain` is the pure core (models, detection, alert policy and
templates), `sources` the HTTP side (one module per upstream), `storage` PostgreSQL, `alerts` the
outbox and its channels, `engine` the loop that drives them; `app` wires them, `cli` starts them.
"""
