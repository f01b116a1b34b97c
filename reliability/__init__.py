"""The fault-injection suite behind ``make reliability``: crash, concurrency and fuzz trials, and
what they compare (a clean run's contents, file references, whole snapshots)."""
