"""`ebook-analytics alerts list|test RULE|history`: the rules, a dry run of one, and the episodes so far."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from pipelines import warehouse
from pipelines.alerts.evaluate import evaluate_rule
from pipelines.alerts.rules import Rule, rule, rules
from pipelines.alerts.run import published_context
from pipelines.alerts.state import read_episodes, state_path
from pipelines.arguments import whole_number
from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.metrics.commands import render
from pipelines.publish.history import runs_newest_first
from pipelines.publish.lake import published_exists

HISTORY_COLUMNS = ("rule", "subject", "severity", "value", "threshold", "alert_window", "fired_at", "resolved_at")


def condition(item: Rule) -> str:
    """The rule's test in words, for the listing and docs/alerts.md."""
    if item.metric and item.baseline:
        base = item.baseline
        statistic = "its median daily value" if base.statistic == "daily_median" else "its value"
        text = (
            f"`{item.metric}`{f' by `{item.by}`' if item.by else ''} over {item.window_days} day(s) > "
            f"{base.factor} x {statistic} over the {base.days} days before"
            + (f" + {base.margin}" if base.margin else "")
        )
        if item.min_volume:
            text += f", with `{item.min_volume.metric}` >= {item.min_volume.at_least}"
        return text
    text = f"`queries/alerts/{item.sql}.sql`, threshold {item.threshold}"
    return text + (f", window {item.window_days} day(s)" if item.window_days else "")


def _list(args: argparse.Namespace) -> int:
    catalog = rules()
    if args.json:
        entries = [json.loads(json.dumps(asdict(item), default=str)) for item in catalog.values()]
        print(json.dumps(entries, indent=2))
        return 0
    frame = pd.DataFrame(
        [(item.name, item.severity, item.role, item.subject_kind, condition(item)) for item in catalog.values()],
        columns=["name", "severity", "role", "subject", "fires when"],
    )
    print(render(frame, "table"), end="")
    return 0


def _test(args: argparse.Namespace) -> int:
    """Evaluate one rule on the published warehouse now: what would fire. Changes nothing, delivers nothing."""
    item = rule(args.rule)
    live = paths().warehouse
    if not published_exists(live):
        raise UserError(f"no published warehouse at {live}; run `ebook-analytics etl run` first")
    with warehouse.connect(live, read_only=True) as con:
        context = published_context(con, datetime.now(UTC), lambda: runs_newest_first(paths().run_history))
        breaches = evaluate_rule(con, item, context)
    records: list[dict[str, Any]] = [
        {"subject": b.subject, "value": b.value, "threshold": b.threshold, "window": b.window, "detail": b.detail}
        for b in breaches
    ]
    if args.json:
        print(json.dumps(records, indent=2, default=str))
        return 0
    if not records:
        print(f"{item.name}: nothing breaches it on the published data (as of {context.snapshot_at.isoformat()})")
        return 0
    print(f"{item.name}: {len(records)} subject(s) would fire ({item.severity}, for {item.role})")
    print(render(pd.DataFrame(records, columns=["subject", "value", "threshold", "window", "detail"]), "table"), end="")
    return 0


def _history(args: argparse.Namespace) -> int:
    episodes = read_episodes(state_path())
    if args.open:
        episodes = [episode for episode in episodes if episode["resolved_at"] is None]
    episodes = episodes[: args.limit]
    if args.json:
        print(json.dumps(episodes, indent=2))
        return 0
    if not episodes:
        print(f"no alert episodes recorded in {state_path()}")
        return 0
    frame = pd.DataFrame(episodes, columns=list(HISTORY_COLUMNS)).fillna("")
    print(render(frame.rename(columns={"alert_window": "window"}), "table"), end="")
    return 0


def define_alerts(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True)
    listing = commands.add_parser("list", help="the rules: name, severity, role, subject, when each fires")
    listing.add_argument("--json", action="store_true", help="every rule in full, as JSON")
    listing.set_defaults(func=_list)
    test = commands.add_parser(
        "test",
        help="evaluate one rule on the published warehouse now (no state change, nothing delivered)",
        description="Lists the subjects that breach the rule now, with value, threshold and window. JSON: a list "
        "of objects with subject, value and threshold (exact decimal strings), window, detail.",
    )
    test.add_argument("rule", metavar="RULE", help="a rule name (`alerts list`)")
    test.add_argument("--json", action="store_true", help="print a JSON list")
    test.set_defaults(func=_test)
    history = commands.add_parser("history", help="alert episodes, newest first: fired, and resolved when over")
    history.add_argument("--open", action="store_true", help="only the episodes still open")
    history.add_argument(
        "--limit", type=whole_number(1), default=50, metavar="N", help="at most N episodes (default 50)"
    )
    history.add_argument("--json", action="store_true", help="every column of the state, as a JSON list")
    history.set_defaults(func=_history)
