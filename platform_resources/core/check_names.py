"""The names of the checks that measure SLOs and data quality, shared by the checks that
record them, the SLO report that reads them back and the alerting sensor.

Every quality check's metadata carries ``measured`` and ``threshold`` (floats) and
``comparison`` (``min``: measured must be at least the threshold; ``max``: at most).
"""

CONTRACT = "contract"  # rows honour the contract (blocking)
FRESHNESS = "partition_freshness"  # each recent day's lag behind its inputs (freshness SLO)
COMPLETENESS = "completeness"  # share of rows with every required value present (SLO)
ACCURACY = "accuracy"  # share of rows passing the value rules (SLO)
UNIQUENESS = "uniqueness"  # share of rows whose grain is unique
TIMELINESS = "timeliness"  # p95 minutes from event time to availability
CONSISTENCY_PREFIX = "consistency_"  # a reconciliation across tables or domains: consistency_<name>
VOLUME_ANOMALY = "volume_anomaly"  # rows per partition against the trailing window (warning)
NULL_RATE_ANOMALY = "null_rate_anomaly"  # null share per column against the trailing window (warning)

#: The checks whose evaluations an SLO's attainment counts, by SLO.
SLO_CHECKS = {"freshness": FRESHNESS, "completeness": COMPLETENESS, "accuracy": ACCURACY}
