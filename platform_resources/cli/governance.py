"""`meshhouse contracts check`, `governance check` and `catalog`: federated governance in CI
and the static data catalog."""

import argparse
from pathlib import Path


def _contracts_check(args: argparse.Namespace) -> int:
    from platform_resources.contracts.model import ContractError
    from platform_resources.governance.contract_changes import compare_all, consumers_by_uri, violations
    from platform_resources.mesh.workspace import contracts_at, workspace_contracts, workspace_definitions
    from platform_resources.products.input_ports import pins_compared_with

    try:
        base, head = contracts_at(args.base), workspace_contracts()
    except ContractError as exc:
        print(f"contracts check: {exc}")
        return 2
    changes = compare_all(base, head)
    with pins_compared_with(base):  # consumers as written, even where a change broke their pins
        consumers = consumers_by_uri(workspace_definitions())
    failures = violations(changes, consumers)
    failing = {id(v.change) for v in failures}
    print(f"contracts check: {len(head)} product versions against {args.base} ({len(base)})")
    for change in changes:
        if id(change) in failing:
            continue
        kind = f"breaking for {change.breaks}, no other domain reads it" if change.breaking else "compatible"
        column = f" column {change.column!r}:" if change.column else ""
        print(f"  {kind}: {change.uri}{column} {change.description}")
    for violation in failures:
        print(f"  BREAKING: {violation.message()}")
    print(
        f"{len(failures)} breaking change(s) reach a consumer"
        if failures
        else "no breaking change reaches a consumer"
    )
    return 1 if failures else 0


def _governance_check(_: argparse.Namespace) -> int:
    from platform_resources.governance.rules import lint
    from platform_resources.mesh.workspace import workspace_contracts, workspace_definitions

    defs, contracts = workspace_definitions(), workspace_contracts().values()
    violations = lint(defs, contracts)
    for violation in violations:
        print(violation)
    products = sum(1 for c in contracts if c.layer != "bronze")
    print(
        f"governance check: {len(violations)} violation(s) over {len(defs)} code locations "
        f"and {products} product versions"
    )
    return 1 if violations else 0


def _catalog(args: argparse.Namespace) -> int:
    from platform_resources.cli.instance import dagster_instance
    from platform_resources.data_catalog.site import build_catalog, failed_sample_queries

    products = build_catalog(Path(args.out), dagster_instance())
    queries = [q for p in products for q in p["sample_queries"]]
    failed = failed_sample_queries(products)
    print(
        f"catalog: {len(products)} products, {len(queries) - len(failed)} of {len(queries)} "
        f"sample queries ran; open {Path(args.out).resolve() / 'index.html'}"
    )
    for failure in failed:
        print(f"  sample query failed: {failure}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    contracts = commands.add_parser("contracts", help="data contract tools").add_subparsers(
        dest="action", required=True
    )
    check = contracts.add_parser(
        "check", help="compare every contract with a git ref; fail on breaking changes consumers would see"
    )
    check.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main or HEAD~1")
    check.set_defaults(run=_contracts_check)
    governance = commands.add_parser("governance", help="federated governance rules").add_subparsers(
        dest="action", required=True
    )
    governance.add_parser(
        "check", help="fail, listing every violation, when a product breaks a governance rule"
    ).set_defaults(run=_governance_check)
    catalog = commands.add_parser("catalog", help="write the static data catalog (HTML pages and index.json)")
    catalog.add_argument("--out", required=True, help="folder to write the catalog into")
    catalog.set_defaults(run=_catalog)
