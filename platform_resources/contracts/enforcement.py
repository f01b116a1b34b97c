"""Frames held to their contract: the pandera (polars backend) check, the split into the rows that
honour it and the rows that do not (each with its reason), and the outcome as a blocking Dagster
asset check.

Check metadata keys: ``rows_checked``, ``failing_rows``, ``failing_ratio``,
``max_failing_ratio``, ``failure_counts`` (per column and rule) and ``failure_sample``
(at most ``SAMPLE_ROWS`` failure cases). A failing value is shown there and in a rejected
row's reason as ``core.redaction`` allows: never a personal column's, never an e-mail address
or phone number.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl

from platform_resources.contracts.model import CONTRACT_CHECK, SAMPLE_ROWS, Contract, ContractError
from platform_resources.core.markdown_table import markdown_table
from platform_resources.core.redaction import WITHHELD, redacted


@dataclass(frozen=True)
class ContractOutcome:
    """The result of holding a frame to its contract."""

    contract: Contract
    rows_checked: int
    failure_cases: pl.DataFrame  # pandera's failure cases: column, check, failure_case, index

    @property
    def failing_index(self) -> pl.Series:
        return self.failure_cases.get_column("index").drop_nulls().unique()

    @property
    def failing_rows(self) -> int:
        return len(self.failing_index)

    @property
    def failing_ratio(self) -> float:
        return self.failing_rows / self.rows_checked if self.rows_checked else 0.0

    @property
    def passed(self) -> bool:
        return self.failing_ratio <= self.contract.max_failing_ratio

    def with_failures(self, failure_cases: pl.DataFrame) -> ContractOutcome:
        """This outcome with more failure cases (rules checked outside the contract's schema)."""
        extra = _shown(failure_cases.cast(FAILURE_CASES_SCHEMA), self.contract)  # type: ignore[arg-type]
        return dataclasses.replace(self, failure_cases=pl.concat([self.failure_cases, extra]))

    def reasons(self) -> pl.DataFrame:
        """One row per failing row index with every rule it broke, joined by '; '."""
        return (
            self.failure_cases.filter(pl.col("index").is_not_null())
            .group_by("index")
            .agg(
                pl.concat_str(
                    pl.col("column").fill_null("row"),
                    pl.lit(": "),
                    pl.col("check"),
                    pl.lit(" (got "),
                    pl.col("failure_case").fill_null("null"),
                    pl.lit(")"),
                )
                .sort()
                .str.join("; ")
                .alias("reason")
            )
        )

    def check_result(
        self, asset_key: dg.AssetKey, extra: dict[str, Any] | None = None
    ) -> dg.AssetCheckResult:
        counts = (
            self.failure_cases.with_columns(pl.col("column").fill_null("row"))
            .group_by("column", "check")
            .len()
            .sort("len", descending=True)
            if len(self.failure_cases)
            else pl.DataFrame()
        )
        metadata: dict[str, Any] = {
            "contract": f"{self.contract.product_id} v{self.contract.version}",
            "rows_checked": dg.MetadataValue.int(self.rows_checked),
            "failing_rows": dg.MetadataValue.int(self.failing_rows),
            "failing_ratio": dg.MetadataValue.float(round(self.failing_ratio, 6)),
            "max_failing_ratio": dg.MetadataValue.float(self.contract.max_failing_ratio),
            "failure_counts": dg.MetadataValue.json(
                {f"{r['column']}: {r['check']}": r["len"] for r in counts.iter_rows(named=True)}
            ),
        }
        if len(self.failure_cases):
            sample = self.failure_cases.head(SAMPLE_ROWS).with_columns(pl.all().cast(pl.String))
            table = markdown_table(sample.columns, sample.iter_rows())
            metadata["failure_sample"] = dg.MetadataValue.md(table)
        metadata.update(extra or {})
        return dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=CONTRACT_CHECK,
            passed=self.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description=None
            if self.passed
            else (
                f"{self.failing_rows} of {self.rows_checked} rows break {self.contract.product_id} "
                f"v{self.contract.version} (allowed ratio {self.contract.max_failing_ratio})"
            ),
        )


FAILURE_CASES_SCHEMA = {"column": pl.String, "check": pl.String, "failure_case": pl.String, "index": pl.Int64}


def _shown(cases: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """The failure cases as they may be shown (check metadata, rejection reasons): a personal
    column's value withheld, e-mail addresses and phone numbers in any other redacted."""
    personal = [c.name for c in contract.columns if c.pii]
    return cases.with_columns(
        pl.when(pl.col("column").is_in(personal) & pl.col("failure_case").is_not_null())
        .then(pl.lit(WITHHELD))
        .otherwise(redacted(pl.col("failure_case")))
        .alias("failure_case")
    )


def hold_to_contract(frame: pl.DataFrame, contract: Contract, check_unique: bool = True) -> ContractOutcome:
    """Validate every row; a frame whose columns or types differ from the contract is an error.

    ``check_unique=False`` is for one batch of a larger table, whose uniqueness is checked whole.
    """
    expected = contract.polars_schema()
    if frame.schema != expected:
        raise ContractError(
            f"frame for {contract.product_id} does not have the contract's columns and types: "
            f"expected {dict(expected)}, got {dict(frame.schema)}"
        )
    try:
        contract.pandera_schema(check_unique).validate(frame, lazy=True)
        cases = pl.DataFrame(schema=FAILURE_CASES_SCHEMA)
    except pa.errors.SchemaErrors as err:
        cases = _shown(
            err.failure_cases.select(
                "column", "check", pl.col("failure_case").cast(pl.String), pl.col("index").cast(pl.Int64)
            ),
            contract,
        )
    return ContractOutcome(contract=contract, rows_checked=frame.height, failure_cases=cases)


def split_by_contract(frame: pl.DataFrame, outcome: ContractOutcome) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that honour the contract, rows that break it with a ``reason`` column)."""
    indexed = frame.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    reasons = outcome.reasons()
    valid = indexed.join(reasons, on="index", how="anti").drop("index")
    rejected = indexed.join(reasons, on="index", how="inner").drop("index")
    return valid, rejected
