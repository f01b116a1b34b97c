"""The alerting sensor against a local webhook: one notification per breach, not one per retry."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from platform_resources.slo.alerting import build_alert_sensor

pytestmark = pytest.mark.integration


class Receiver:
    """A local webhook: records every POSTed JSON body and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.attempts: list[int] = []  # the status answered to each POST
        self.bodies: list[dict] = []  # the bodies answered 2xx
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.attempts.append(receiver.status)
                if receiver.status < 300:
                    receiver.bodies.append(body)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("MESHHOUSE_ALERT_WEBHOOK_URL", r.url)
    monkeypatch.setenv("MESHHOUSE_DAGSTER_URL", "http://dagster.example:3000")
    monkeypatch.delenv("MESHHOUSE_ALERT_MAX_PER_HOUR", raising=False)
    yield r
    r.server.shutdown()
    r.server.server_close()


class Sensor:
    """The alerting sensor ticked by hand on ``instance``, each tick given the last tick's cursor."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.now = 1_800_000_000.0  # the rate limit's clock, moved by the tests
        self.sensor = build_alert_sensor(clock=lambda: self.now)
        self.instance = instance
        self.cursor: str | None = None

    def tick(self) -> dg.SensorResult:
        result = self.sensor(dg.build_sensor_context(instance=self.instance, cursor=self.cursor))
        self.cursor = result.cursor
        return result

    @property
    def pending(self) -> list[str]:
        return json.loads(self.cursor)["pending"]


@pytest.fixture
def sensor(instance: dg.DagsterInstance) -> Sensor:
    s = Sensor(instance)
    s.tick()  # the first tick starts at the end of the (empty) event log
    return s


def report(instance: dg.DagsterInstance, asset: str, check: str, passed: bool, **kwargs) -> None:
    """A check evaluation recorded without a run, as the partition freshness sensor records them."""
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey.from_user_string(asset), check_name=check, passed=passed, **kwargs
        )
    )


def test_a_blocking_check_failing_on_reruns_and_step_retries_is_notified_once_per_breach(
    instance, receiver, sensor
) -> None:
    mode = {"outcome": "fail, then retry"}
    attempts = []

    @dg.asset(
        check_specs=[dg.AssetCheckSpec("contract", asset="silver_orders", blocking=True)],
        retry_policy=dg.RetryPolicy(max_retries=2),
    )
    def silver_orders():
        attempts.append(mode["outcome"])
        yield dg.Output(1)
        passed = mode["outcome"] == "pass"
        description = None if passed else "3 of 10 rows break orders v1"
        yield dg.AssetCheckResult(check_name="contract", passed=passed, description=description)
        if mode["outcome"] == "fail, then retry":
            raise OSError("connection reset by the object store")  # a transient error: the step retries

    first = dg.materialize([silver_orders], instance=instance, raise_on_error=False)
    assert not first.success and len(attempts) == 3  # the check failed on every attempt
    sensor.tick()
    mode["outcome"] = "fail"  # a rerun, the check failing again
    assert not dg.materialize([silver_orders], instance=instance, raise_on_error=False).success
    sensor.tick()
    sensor.tick()

    assert len(receiver.texts) == 1, receiver.texts
    assert "`silver_orders`" in receiver.texts[0] and "`contract`" in receiver.texts[0]
    assert "3 of 10 rows break orders v1" in receiver.texts[0] and first.run_id in receiver.texts[0]

    mode["outcome"] = "pass"
    assert dg.materialize([silver_orders], instance=instance, raise_on_error=False).success
    sensor.tick()
    assert len(receiver.texts) == 1
    mode["outcome"] = "fail"
    dg.materialize([silver_orders], instance=instance, raise_on_error=False)
    sensor.tick()
    assert len(receiver.texts) == 2  # a new breach after the check passed
    assert "`silver_orders`" in receiver.texts[1] and "`contract`" in receiver.texts[1]


def test_a_failed_run_and_its_run_retry_are_one_notification(instance, receiver, sensor) -> None:
    @dg.asset
    def daily_settlement() -> None:
        raise ValueError("payment provider API down")

    first = dg.materialize([daily_settlement], instance=instance, raise_on_error=False)
    sensor.tick()
    # the re-execution Dagster's run-retry daemon launches, failing again
    retry_tags = {"dagster/parent_run_id": first.run_id, "dagster/root_run_id": first.run_id}
    retry = dg.materialize([daily_settlement], instance=instance, raise_on_error=False, tags=retry_tags)
    assert not first.success and not retry.success
    sensor.tick()
    sensor.tick()

    assert len(receiver.texts) == 1, receiver.texts
    assert "Run failed" in receiver.texts[0] and first.run_id in receiver.texts[0]
    assert "payment provider API down" in receiver.texts[0] and "`daily_settlement`" in receiver.texts[0]

    other = dg.materialize([daily_settlement], instance=instance, raise_on_error=False)
    sensor.tick()
    assert len(receiver.texts) == 2 and other.run_id in receiver.texts[1]  # another root run


def test_an_slo_breach_re_evaluated_every_few_minutes_is_one_notification_with_the_lag(
    instance, receiver, sensor
) -> None:
    lag = "1 partition(s) behind their inputs beyond the 60-minute SLO: 2026-11-20 by 95.5 min"
    for _ in range(3):  # the freshness sensor re-evaluating, a WARN severity SLO check still counts
        report(
            instance,
            "gold_daily_revenue",
            "partition_freshness",
            False,
            description=lag,
            severity=dg.AssetCheckSeverity.WARN,
        )
        sensor.tick()

    assert len(receiver.texts) == 1, receiver.texts
    assert "SLO breach (freshness)" in receiver.texts[0] and "`gold_daily_revenue`" in receiver.texts[0]
    assert "2026-11-20 by 95.5 min" in receiver.texts[0]


def test_a_failing_warning_check_that_is_not_an_slo_is_not_notified(instance, receiver, sensor) -> None:
    for _ in range(2):
        report(
            instance,
            "silver_orders",
            "volume_anomaly",
            False,
            severity=dg.AssetCheckSeverity.WARN,
            description="rows 10x the trailing median",
        )
    sensor.tick()
    assert receiver.attempts == []

    report(instance, "silver_orders", "contract", False, description="2 of 5 rows break orders v1")
    sensor.tick()
    assert len(receiver.texts) == 1 and "`contract`" in receiver.texts[0]  # the sensor did read them


def test_over_the_hourly_limit_notifications_wait_for_the_next_hour_and_none_is_lost(
    instance, receiver, sensor, monkeypatch
) -> None:
    monkeypatch.setenv("MESHHOUSE_ALERT_MAX_PER_HOUR", "3")
    for i in range(5):
        report(instance, f"product_{i}", "contract", False, description=f"breach {i}")
    sensor.tick()
    assert len(receiver.texts) == 3 and len(sensor.pending) == 2
    sensor.now += 30 * 60
    sensor.tick()
    assert len(receiver.texts) == 3  # the rolling hour is still full
    sensor.now += 30 * 60 + 1
    sensor.tick()
    sensor.tick()

    assert [t.split("breach ")[-1].split("\n")[0] for t in receiver.texts] == ["0", "1", "2", "3", "4"]
    assert sensor.pending == []


def test_a_webhook_that_is_down_or_answers_500_loses_nothing(instance, receiver, sensor, monkeypatch) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    monkeypatch.setenv("MESHHOUSE_ALERT_WEBHOOK_URL", closed)
    report(instance, "silver_orders", "contract", False, description="2 of 5 rows break orders v1")
    sensor.tick()
    assert len(sensor.pending) == 1

    monkeypatch.setenv("MESHHOUSE_ALERT_WEBHOOK_URL", receiver.url)
    receiver.status = 500
    sensor.tick()
    sensor.tick()
    assert receiver.attempts == [500, 500] and len(sensor.pending) == 1

    receiver.status = 200
    sensor.tick()
    sensor.tick()
    assert receiver.attempts == [500, 500, 200] and sensor.pending == []
    assert len(receiver.texts) == 1 and "`contract`" in receiver.texts[0]


def test_without_a_webhook_url_the_sensor_skips_and_setting_it_later_replays_no_history(
    instance, receiver, sensor, monkeypatch
) -> None:
    monkeypatch.delenv("MESHHOUSE_ALERT_WEBHOOK_URL")
    report(instance, "silver_orders", "contract", False, description="while alerting is off")
    result = sensor.tick()
    assert isinstance(result.skip_reason, dg.SkipReason)
    assert "MESHHOUSE_ALERT_WEBHOOK_URL is not set" in result.skip_reason.skip_message

    monkeypatch.setenv("MESHHOUSE_ALERT_WEBHOOK_URL", receiver.url)
    report(instance, "silver_orders", "contract", False, description="the same breach, still open")
    report(instance, "silver_customers", "contract", False, description="a new breach")
    sensor.tick()
    assert len(receiver.texts) == 1 and "a new breach" in receiver.texts[0]


def test_the_notification_is_slack_compatible_json_linking_to_the_dagster_ui(
    instance, receiver, sensor
) -> None:
    report(
        instance,
        "orders/gold_daily_revenue",
        "contract",
        False,
        partition="2026-11-20",
        description="total <0 for 1 row & more",
    )
    sensor.tick()

    [body] = receiver.bodies
    assert isinstance(body["text"], str)
    [section] = [b for b in body["blocks"] if b["type"] == "section"]
    assert section["text"]["type"] == "mrkdwn" and section["text"]["text"] == body["text"]
    assert "`orders/gold_daily_revenue`" in body["text"] and "`2026-11-20`" in body["text"]
    assert "total &lt;0 for 1 row &amp; more" in body["text"]  # mrkdwn control characters escaped
    assert "<http://dagster.example:3000/assets/orders/gold_daily_revenue?view=checks|" in body["text"]
