"""Operational stores: the domains' PostgreSQL schemas, the transactional outbox, its relay
to the event bus and change data capture, plus the embedded servers of the default."""
