"""`meshhouse servers up|down` (the embedded PostgreSQL and NATS), `meshhouse stream publish`
(a JSONL file onto a domain's subjects, as an external producer would) and `meshhouse stream
ingest` (a domain's stream into its Bronze), `meshhouse service write` (a domain service's changes
and their outbox rows), `meshhouse stream relay` (the outbox onto the bus), `meshhouse stream
cdc` (the customers table's changes onto the bus) and `meshhouse stream check` (the whole path,
measured with faults)."""

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path


def _servers_up(_: argparse.Namespace) -> int:
    from platform_resources.operational.servers import start_embedded_servers

    urls = start_embedded_servers()
    print(f"operational PostgreSQL: {urls['ods']}\nNATS JetStream: {urls['nats']}")
    return 0


def _servers_down(_: argparse.Namespace) -> int:
    from platform_resources.operational.servers import embedded_nats, embedded_postgres

    embedded_nats().stop()
    embedded_postgres().stop()
    print("embedded PostgreSQL and NATS stopped")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from platform_resources.stream.bus import connect, publish_lines

    lines = Path(args.file).read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the file's final newline ends its last line

    async def publish() -> dict[str, int]:
        client = await connect()
        try:
            return await publish_lines(client.jetstream(), args.domain, lines)
        finally:
            await client.close()

    counts = {"domain": args.domain, "lines": len(lines), **asyncio.run(publish())}
    print(
        f"{args.domain}: {counts['lines']:,} lines published, {counts['stored']:,} stored, "
        f"{counts['duplicates']:,} dropped by the stream as republished ids"
    )
    if args.json:
        print(json.dumps(counts))
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from platform_resources.stream.consumer import StreamBusy, StreamCommitFailed, ingest_until_idle

    def progress(summary) -> None:
        print(
            f"{args.domain}: batch {summary.batches}: {summary.consumed:,} consumed "
            f"({summary.bronze:,} Bronze, {summary.quarantined:,} quarantined)",
            flush=True,
        )

    try:
        summary = ingest_until_idle(args.domain, progress=progress)
    except (StreamBusy, StreamCommitFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = summary.as_dict()
    print(
        f"{args.domain}: {summary.consumed:,} messages consumed in {summary.batches} batches: "
        f"{summary.bronze:,} to Bronze, {summary.quarantined:,} quarantined, "
        f"{summary.already_committed:,} already committed; committed through sequence "
        f"{summary.committed_seq:,}, {summary.lag:,} waiting"
    )
    if args.json:
        print(json.dumps(counts))
    return 0


def _service_write(args: argparse.Namespace) -> int:
    from platform_resources.operational.services import first_events_of_day, write_events

    day = dt.datetime.now(dt.UTC).date()
    lines = first_events_of_day(args.domain, day, args.events, args.seed)
    written = write_events(args.domain, lines)
    counts = {"domain": args.domain, "written": written.written, "already_recorded": written.already_recorded}
    print(
        f"{args.domain}: {written.written:,} events written with their changes to the operational store "
        f"({written.already_recorded:,} already recorded)"
    )
    if args.json:
        print(json.dumps(counts))
    return 0


def _service_run(args: argparse.Namespace) -> int:
    import threading
    import time

    from platform_resources.operational.live import LiveTotals, run_live
    from platform_resources.operational.servers import start_embedded_servers

    start_embedded_servers()
    stop = threading.Event()
    if args.seconds:
        threading.Timer(args.seconds, stop.set).start()
    last = [0.0]

    def progress(totals: LiveTotals) -> None:
        if time.monotonic() - last[0] >= args.report_every:
            last[0] = time.monotonic()
            written = ", ".join(f"{d} {n:,}" for d, n in totals.written.items())
            error = f"; last error: {totals.last_error}" if totals.failed_ticks else ""
            relayed = f"{totals.relayed:,} relayed, {totals.changes:,} CDC changes"
            print(f"live services: written {written}; {relayed}{error}", flush=True)

    print(f"live services: emitting {args.events_per_day:,} events per day and service as their time comes")
    try:
        totals = run_live(args.events_per_day, seed=args.seed, stop=stop, progress=progress)
    except KeyboardInterrupt:
        return 0
    summary = {"written": totals.written, "relayed": totals.relayed, "cdc_changes": totals.changes}
    summary["failed_ticks"] = totals.failed_ticks
    if args.json:
        print(json.dumps(summary))
    return 0


def _relay(args: argparse.Namespace) -> int:
    from platform_resources.operational.relay import relay_until_idle

    summary = relay_until_idle(args.domain)
    print(
        f"{args.domain}: {summary.relayed:,} outbox rows published and marked sent in "
        f"{summary.batches} batches ({summary.duplicates:,} already in the stream); {summary.unsent:,} unsent"
    )
    if args.json:
        print(json.dumps(summary.as_dict()))
    return 0


def _cdc(args: argparse.Namespace) -> int:
    from platform_resources.operational.cdc import capture_until_idle

    summary = capture_until_idle()
    print(
        f"{summary.table}: {summary.changes:,} change events of {summary.transactions:,} transactions "
        f"published ({summary.duplicates:,} already in the stream); the slot advanced past them"
    )
    if args.json:
        print(json.dumps(summary.as_dict()))
    return 0


def _check(args: argparse.Namespace) -> int:
    from platform_resources.cli.stream_check import check_stream_path

    def progress(path) -> None:
        print(
            f"round: {path.produced:,} of {args.events:,} events written, {len(path.silver_at):,} in Silver, "
            f"{len(path.gold_at):,} in Gold; {path.runs} micro-batch runs",
            flush=True,
        )

    summary = check_stream_path(args.events, args.rate, args.seed, progress)
    silver, gold = summary["latency_s"]["silver"], summary["latency_s"]["gold"]
    print(
        f"{summary['produced']:,} events produced: {summary['bronze']:,} in stream Bronze, "
        f"{summary['silver']:,} in Silver, {summary['lost']:,} lost, {summary['duplicated']:,} duplicated "
        f"(faults: {summary['faults']}); latency to Silver p50 {silver['p50']} s, p99 {silver['p99']} s; "
        f"to Gold p50 {gold['p50']} s, p99 {gold['p99']} s"
    )
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["lost"] == 0 and summary["duplicated"] == 0 else 1


def register(commands: argparse._SubParsersAction) -> None:
    servers = commands.add_parser("servers", help="the embedded operational PostgreSQL and NATS JetStream")
    actions = servers.add_subparsers(dest="action", required=True)
    actions.add_parser("up", help="start them under $MESHHOUSE_HOME (kept if running)").set_defaults(
        run=_servers_up
    )
    actions.add_parser("down", help="stop them").set_defaults(run=_servers_down)
    stream = commands.add_parser("stream", help="the event bus: publish onto a domain's subjects")
    stream_actions = stream.add_subparsers(dest="action", required=True)
    publish = stream_actions.add_parser("publish", help="publish a JSONL file's lines, each as is")
    publish.add_argument("--domain", required=True)
    publish.add_argument("file")
    publish.add_argument("--json", action="store_true", help="end with a JSON summary line")
    publish.set_defaults(run=_publish)
    ingest = stream_actions.add_parser(
        "ingest", help="consume a domain's stream into its stream Bronze tables, exactly once"
    )
    ingest.add_argument("--domain", required=True)
    ingest.add_argument("--until-idle", action="store_true", required=True, help="stop when nothing waits")
    ingest.add_argument("--json", action="store_true", help="end with a JSON summary line")
    ingest.set_defaults(run=_ingest)
    relay = stream_actions.add_parser(
        "relay", help="publish a domain's unsent outbox rows, then mark them sent"
    )
    relay.add_argument("--domain", required=True)
    relay.add_argument("--until-idle", action="store_true", required=True, help="stop when none is left")
    relay.add_argument("--json", action="store_true", help="end with a JSON summary line")
    relay.set_defaults(run=_relay)
    cdc = stream_actions.add_parser(
        "cdc", help="the customers table's committed changes (logical replication) onto the customers stream"
    )
    cdc.add_argument("--until-idle", action="store_true", required=True, help="stop when the slot is drained")
    cdc.add_argument("--json", action="store_true", help="end with a JSON summary line")
    cdc.set_defaults(run=_cdc)
    check = stream_actions.add_parser(
        "check",
        help="the whole path (services -> outbox and CDC -> NATS -> Bronze -> Silver -> Gold) with the relay "
        "and a consumer killed mid-way: loss, duplicates and latency",
    )
    check.add_argument("--events", type=int, required=True, help="events the services write (half each)")
    check.add_argument("--rate", type=float, default=50.0, help="events per second written (default 50)")
    check.add_argument("--seed", type=int, default=7)
    check.add_argument("--json", action="store_true", help="end with a JSON summary line")
    check.set_defaults(run=_check)
    service = commands.add_parser("service", help="a domain service writing to its operational store")
    service_actions = service.add_subparsers(dest="action", required=True)
    write = service_actions.add_parser(
        "write", help="today's first N simulated events: each change and its outbox row in one transaction"
    )
    write.add_argument("--domain", required=True, choices=("orders", "customers", "payments", "inventory"))
    write.add_argument("--events", type=int, required=True)
    write.add_argument("--seed", type=int, default=7)
    write.add_argument("--json", action="store_true", help="end with a JSON summary line")
    write.set_defaults(run=_service_write)
    live = service_actions.add_parser(
        "run",
        help="every service live: today's simulated events emitted as their time comes, relayed and "
        "captured onto the bus each second (the demo of make run)",
    )
    live.add_argument("--events-per-day", type=int, default=20000, help="per service (default 20000)")
    live.add_argument("--seed", type=int, default=7)
    live.add_argument("--seconds", type=float, help="stop after this long (default: run until interrupted)")
    live.add_argument("--report-every", type=float, default=60.0, help="seconds between progress lines")
    live.add_argument("--json", action="store_true", help="end with a JSON summary line")
    live.set_defaults(run=_service_run)
