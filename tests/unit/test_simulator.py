"""The event simulator: seed-002 envelopes in the landing layout, with the faults asked for."""

import datetime as dt
import json
from collections import Counter

from domains.orders.simulate import simulate
from platform_resources.ingest.envelope import classify_lines
from platform_resources.ingest.landing import landing_files
from platform_resources.operational.services import events_of_day, first_events_of_day
from platform_resources.simulate.landing_faults import FaultRates

DAYS = [dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
STATUSES = {
    "order.created",
    "order.paid",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
}


def _lines() -> list[tuple[dt.date, str, bytes]]:
    """Every line of the landing zone of the current MESHHOUSE_HOME."""
    return [
        (f.day, f.path.name, line)
        for f in landing_files("orders")
        for line in f.path.read_bytes().split(b"\n")[:-1]
    ]


def test_clean_run_writes_each_event_once_into_its_event_day(home) -> None:
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(14)]  # long enough for refunds
    counts = simulate(days, 600, seed=1, rates=FaultRates())
    lines = _lines()
    assert len(lines) == counts["events"]
    events = [(day, json.loads(line)) for day, _, line in lines]
    assert len({e["eventId"] for _, e in events}) == len(events)
    assert {e["eventType"] for _, e in events} == STATUSES
    for day, e in events:
        assert dt.datetime.fromisoformat(e["timestamp"]).date() == day
        assert set(e) >= {"eventId", "eventType", "timestamp", "data", "version", "correlationId", "userId"}
        assert set(e["data"]) == {"payload", "metadata"}
    created = [e for _, e in events if e["eventType"] == "order.created"]
    for e in created:
        payload = e["data"]["payload"]
        assert round(sum(i["quantity"] * i["price"] for i in payload["items"]), 2) == payload["totalAmount"]
    assert {d for d, _ in events} == set(days)


def test_faults_are_extra_lines_of_each_kind(home) -> None:
    counts = simulate(DAYS, 4000, seed=2, rates=FaultRates(redelivery=0.05, late=0.05, malformed=0.02))
    lines = _lines()
    assert len(lines) == counts["events"] + counts["redelivered"] + counts["malformed"]
    valid, quarantined = classify_lines(
        1, [line for _, _, line in lines], "f", DAYS[0], dt.datetime.now(dt.UTC)
    )
    assert quarantined.height == counts["malformed"] > 0
    assert quarantined["reason"].n_unique() >= 6  # the corruption kinds reach distinct reasons
    copies = Counter(valid["event_id"].to_list())
    assert sum(n - 1 for n in copies.values()) == counts["redelivered"] > 0
    late_lines = [(day, line) for day, name, line in lines if name.startswith("late-")]
    assert counts["late"] <= len(late_lines) <= counts["late"] + counts["redelivered"]
    assert all(
        dt.datetime.fromisoformat(json.loads(line)["timestamp"]).date() == day for day, line in late_lines
    )


def test_same_seed_same_events(home, tmp_path, monkeypatch) -> None:
    simulate(DAYS[:1], 500, seed=3, rates=FaultRates(malformed=0.01))
    first = _lines()
    monkeypatch.setenv("MESHHOUSE_HOME", str(tmp_path / "other"))
    simulate(DAYS[:1], 500, seed=3, rates=FaultRates(malformed=0.01))
    assert _lines() == first


def test_user_registered_events_carry_the_user_id_and_email_in_their_payload(home) -> None:
    from domains.customers.simulate import simulate as simulate_customers

    simulate_customers(DAYS[:1], 200, seed=3, rates=FaultRates())
    events = [
        json.loads(line) for f in landing_files("customers") for line in f.path.read_bytes().splitlines()
    ]
    registered = [e for e in events if e["eventType"] == "user.registered"]
    assert len(registered) == 80  # 40% of the day's events
    for event in registered:
        payload = event["data"]["payload"]
        assert payload["userId"] == event["userId"] and payload["userId"].startswith("user-")
        assert "@" in payload["email"] and payload["email"].split("@")[1] in {
            "example.com",
            "mail.test",
            "inbox.example",
        }
    assert len({e["data"]["payload"]["email"] for e in registered}) == len(registered)


def test_a_service_gets_the_first_n_events_even_on_a_day_whose_share_is_small() -> None:
    day = dt.date(2026, 12, 8)  # payments' share of a 240-event day is 102 events on this day
    assert events_of_day("payments", day, 240, 7).height < 120
    lines = first_events_of_day("payments", day, 120, 7)
    assert len({json.loads(line)["eventId"] for line in lines}) == 120
    timestamps = [json.loads(line)["timestamp"] for line in lines]
    assert timestamps == sorted(timestamps)  # the day's first, in time order
