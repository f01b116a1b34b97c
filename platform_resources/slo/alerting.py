"""The alerting sensor: failed runs, failed blocking checks and SLO breaches as notifications to a
Slack-compatible webhook, one per breach, rate-limited, never lost to a failing webhook.

It reads the instance's event log incrementally (``RUN_FAILURE`` and ``ASSET_CHECK_EVALUATION``
records after a storage-id watermark per type, at most ``READ_LIMIT`` per tick) and keeps its
whole state in the sensor cursor:

- a failed run is notified once per root run (tag ``dagster/root_run_id``, else its own id), so
  the re-executions of run retries add nothing; a run failed by a failing blocking check is left
  to that check's notification;
- a check breach, keyed by asset and check name, opens at the first failing evaluation of an
  ERROR-severity check or of an SLO check (``check_names.SLO_CHECKS``, whatever its severity) and
  closes at the check's next passing evaluation: reruns, step and run retries and the freshness
  sensor's re-evaluations while it is open add nothing, a failure after it closed is a new breach;
- notifications wait in the cursor, oldest first, and are posted while the rolling hour has
  room (``MESHHOUSE_ALERT_MAX_PER_HOUR``); one that the webhook refuses or cannot take stays
  first in line for the next tick. Delivery is at least once: a post whose answer is lost is
  posted again.

Without ``MESHHOUSE_ALERT_WEBHOOK_URL`` the sensor skips, but still reads the events and tracks
breaches and runs, dropping their notifications: setting the URL later alerts on what happens
from then on and does not replay the history. Its first tick starts at the end of the log.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass

import dagster as dg

from platform_resources.core.check_names import SLO_CHECKS
from platform_resources.core.settings import (
    get_alert_interval_seconds,
    get_alert_max_per_hour,
    get_alert_webhook_url,
    get_dagster_url,
)

EVENT_TYPES = (dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
READ_LIMIT = 1000  # event records read per type and tick; the rest on the next ticks
ROOT_RUNS_KEPT = 500  # root runs remembered as notified (their retries come soon after them)
POST_TIMEOUT_SECONDS = 5
POST_BUDGET_SECONDS = 20  # no new post after this long in a tick (a sensor tick times out at 60 s)
HOUR = 3600.0
DESCRIPTION_LIMIT = 600  # characters of a description or error kept: texts stay under Slack's 3,000
ROOT_RUN_TAG = "dagster/root_run_id"
SLO_BY_CHECK = {check: slo for slo, check in SLO_CHECKS.items()}


@dataclass
class AlertState:
    """The sensor cursor, as JSON."""

    after: dict[str, int]  # event type -> storage id of the last record read
    open_breaches: list[str]  # "<asset key>:<check name>" of every open breach
    notified_roots: list[str]  # root run ids already notified (or explained by a breach), oldest first
    pending: list[str]  # notification texts not posted yet, oldest first
    sent: list[float]  # when the notifications of the last hour were posted

    @classmethod
    def start(cls, instance: dg.DagsterInstance) -> AlertState:
        """A first tick starts at the end of the event log: enabling alerts replays no history."""
        newest = instance.event_log_storage.get_maximum_record_id() or 0
        return cls({t.value: newest for t in EVENT_TYPES}, [], [], [], [])

    @classmethod
    def load(cls, cursor: str) -> AlertState:
        return cls(**json.loads(cursor))

    def dump(self) -> str:
        return json.dumps(asdict(self))


def _escape(text: str) -> str:
    """Text for Slack mrkdwn, where &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_link(ui: str, run_id: str) -> str:
    return f"<{ui}/runs/{run_id}|{run_id}>"


def _check_text(evaluation: dg.AssetCheckEvaluation, run_id: str, ui: str) -> str:
    asset = evaluation.asset_key.to_user_string()
    slo = SLO_BY_CHECK.get(evaluation.check_name)
    title = (
        f":warning: *SLO breach ({slo})*"
        if slo
        else f":rotating_light: *Check failed ({evaluation.severity.value})*"
    )
    lines = [
        f"{title}: asset `{asset}`, check `{evaluation.check_name}`",
        _escape(_clip(evaluation.description or "(no description)", DESCRIPTION_LIMIT)),
    ]
    if evaluation.partition:
        lines.append(f"*Partition* `{evaluation.partition}`")
    if run_id:
        lines.append(f"*Run* {_run_link(ui, run_id)}")
    lines.append(f"<{ui}/assets/{'/'.join(evaluation.asset_key.path)}?view=checks|Open in Dagster>")
    return "\n".join(lines)


def _on_check(state: AlertState, entry: dg.EventLogEntry, ui: str) -> str | None:
    """The notification of a breach this evaluation opens, if it opens one."""
    evaluation = entry.dagster_event.asset_check_evaluation_data
    key = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name).to_user_string()
    if evaluation.passed:
        if key in state.open_breaches:
            state.open_breaches.remove(key)
        return None
    alerting = evaluation.severity == dg.AssetCheckSeverity.ERROR or evaluation.check_name in SLO_BY_CHECK
    if not alerting or key in state.open_breaches:
        return None
    state.open_breaches.append(key)
    return _check_text(evaluation, entry.run_id, ui)


def _on_run_failure(
    instance: dg.DagsterInstance, state: AlertState, entry: dg.EventLogEntry, ui: str
) -> str | None:
    """The notification of a failed run, unless its root run was notified or a blocking check failed it."""
    run = instance.get_run_by_id(entry.run_id)
    root = run.tags.get(ROOT_RUN_TAG, run.run_id) if run else entry.run_id
    if root in state.notified_roots:
        return None
    state.notified_roots = [*state.notified_roots, root][-ROOT_RUNS_KEPT:]
    records = instance.get_records_for_run(
        entry.run_id,
        of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION},
    ).records
    events = [r.event_log_entry.dagster_event for r in records]
    if any(
        e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and not e.asset_check_evaluation_data.passed
        and e.asset_check_evaluation_data.severity == dg.AssetCheckSeverity.ERROR
        and e.asset_check_evaluation_data.blocking
        for e in events
    ):
        return None
    job = run.job_name if run else "?"
    lines = [f":x: *Run failed*: job `{job}`", f"*Run* {_run_link(ui, entry.run_id)}"]
    if root != entry.run_id:
        lines[-1] += f" (a retry of {_run_link(ui, root)})"
    failure = next((e for e in events if e.is_step_failure), None)
    if failure is not None:
        error = failure.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause  # the user's exception, not Dagster's wrapper
        message = error.message.strip() if error else "unknown error"
        lines.append(f"*Step* `{failure.step_key}`: {_escape(_clip(message, DESCRIPTION_LIMIT))}")
    else:
        lines.append(_escape(_clip(entry.message, DESCRIPTION_LIMIT)))
    return "\n".join(lines)


def _consume(instance: dg.DagsterInstance, state: AlertState, ui: str) -> list[str]:
    """The notifications of the event records after the watermarks, in event-log order."""
    storage = instance.event_log_storage
    records: dict[int, dg.EventLogEntry] = {}
    for event_type in EVENT_TYPES:
        batch = storage.get_logs_for_all_runs_by_log_id(
            after_cursor=state.after[event_type.value], dagster_event_type=event_type, limit=READ_LIMIT
        )
        if batch:
            state.after[event_type.value] = max(batch)
        records.update(batch)
    notifications = []
    for _, entry in sorted(records.items()):
        if entry.dagster_event_type == dg.DagsterEventType.RUN_FAILURE:
            text = _on_run_failure(instance, state, entry, ui)
        else:
            text = _on_check(state, entry, ui)
        if text is not None:
            notifications.append(text)
    return notifications


def _slack_payload(text: str) -> dict:
    """A Slack-compatible message: the text (the fallback) and one mrkdwn section block."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _post(url: str, text: str) -> None:
    """Post one notification; raises if the webhook does not answer 2xx."""
    request = urllib.request.Request(
        url,
        data=json.dumps(_slack_payload(text)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:
        if not 200 <= response.status < 300:
            raise http.client.HTTPException(f"answered {response.status}")


def _deliver(url: str, state: AlertState, now: float, max_per_hour: int, log: logging.Logger) -> int:
    """Post pending notifications, oldest first, while the rolling hour has room; the number posted.

    The first failure ends the tick's delivery: that notification and the rest stay pending.
    """
    state.sent = [t for t in state.sent if now - t < HOUR]
    deadline = time.monotonic() + POST_BUDGET_SECONDS
    posted = 0
    while state.pending and len(state.sent) < max_per_hour and time.monotonic() < deadline:
        try:
            _post(url, state.pending[0])
        except (OSError, http.client.HTTPException, ValueError) as error:
            log.warning(f"alert webhook failed ({error}); {len(state.pending)} notification(s) stay pending")
            break
        state.pending.pop(0)
        state.sent.append(now)
        posted += 1
    return posted


def build_alert_sensor(clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    """The ``platform_alerts`` sensor; ``clock`` (epoch seconds) times the rate limit."""

    @dg.sensor(
        name="platform_alerts",
        minimum_interval_seconds=get_alert_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Posts failed runs, failed blocking checks and SLO breaches to "
        "MESHHOUSE_ALERT_WEBHOOK_URL, once per breach, at most MESHHOUSE_ALERT_MAX_PER_HOUR an hour.",
    )
    def platform_alerts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state = AlertState.load(context.cursor) if context.cursor else AlertState.start(context.instance)
        notifications = _consume(context.instance, state, get_dagster_url())
        url = get_alert_webhook_url()
        if url is None:
            return dg.SensorResult(
                skip_reason=f"MESHHOUSE_ALERT_WEBHOOK_URL is not set: {len(notifications)} notification(s) "
                "not sent (breaches are still tracked, so setting it later replays no history)",
                cursor=state.dump(),
            )
        state.pending.extend(notifications)
        posted = _deliver(url, state, clock(), get_alert_max_per_hour(), context.log)
        return dg.SensorResult(
            skip_reason=f"{posted} notification(s) posted, {len(state.pending)} pending, "
            f"{len(state.open_breaches)} open breach(es)",
            cursor=state.dump(),
        )

    return platform_alerts
