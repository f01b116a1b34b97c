"""platform's published data contracts, one YAML file per product."""

from pathlib import Path

from platform_resources.contracts.parsing import load_contracts

CONTRACTS = load_contracts(Path(__file__).parent)
