"""The event bus (NATS JetStream): one stream per domain, and its exactly-once consumer into
the domain's stream Bronze."""
