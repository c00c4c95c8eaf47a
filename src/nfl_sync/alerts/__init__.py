"""Alert delivery: the transactional outbox, the sender that drains it, and its channels."""
