"""The one decorator of the platform location's operations assets (catalog, SLO report, table
maintenance, retention, GDPR requests): unpartitioned, outside the daily job (their group is
their layer), owned by the platform team, retried by the platform's policy."""

from collections.abc import Callable, Set
from typing import Any

import dagster as dg

from platform_resources.core.automation import RETRY


def operations_asset(
    key: dg.AssetKey, layer: str, kinds: Set[str], description: str
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    return dg.asset(
        key=key,
        group_name=layer,  # not in platform's daily (partitioned) job
        owners=["team:platform"],
        kinds=set(kinds),
        tags={"layer": layer},
        retry_policy=RETRY,
        description=description,
    )
