"""Scheduled delivery: schedule files, due times on an injected clock, folder and SMTP delivery (a real local
`aiosmtpd` server), retries of a failed send, and the refresher delivering after a publication."""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import socket
import ssl
import subprocess
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pipelines.errors import UserError
from pipelines.schedules.definitions import load_schedules, parse_schedule
from pipelines.schedules.run import read_deliveries, run_due
from pipelines.schedules.when import parse_when
from tests.conftest import copy_published, run_cli, start_cli, use_settings
from tests.marts_dataset import ALICE, CAROL


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- due times (no data, no clock: `now` is given) -----------------------------------------------------------------


@pytest.mark.fast
@pytest.mark.parametrize(
    ("when", "now", "latest", "following"),
    [
        # 2024-03-04 is a Monday.
        ("daily at 06:00", utc(2024, 3, 4, 5, 59), utc(2024, 3, 3, 6, 0), utc(2024, 3, 4, 6, 0)),
        ("daily at 06:00", utc(2024, 3, 4, 6, 0), utc(2024, 3, 4, 6, 0), utc(2024, 3, 5, 6, 0)),
        ("weekly on monday at 06:30", utc(2024, 3, 10, 23, 0), utc(2024, 3, 4, 6, 30), utc(2024, 3, 11, 6, 30)),
        ("monthly on 1 at 00:00", utc(2024, 3, 1, 0, 0), utc(2024, 3, 1, 0, 0), utc(2024, 4, 1, 0, 0)),
        # A UTC month boundary: 23:59 on 29 February is still February's.
        ("monthly on 1 at 00:00", utc(2024, 2, 29, 23, 59), utc(2024, 2, 1, 0, 0), utc(2024, 3, 1, 0, 0)),
        # cron: every 15 minutes from 08:00 to 17:45 on weekdays (1-5: Monday to Friday).
        ("*/15 8-17 * * 1-5", utc(2024, 3, 9, 12, 0), utc(2024, 3, 8, 17, 45), utc(2024, 3, 11, 8, 0)),
        # cron: both day fields restricted means either: the 1st, or any Sunday (0).
        ("0 6 1 * 0", utc(2024, 3, 2, 7, 0), utc(2024, 3, 1, 6, 0), utc(2024, 3, 3, 6, 0)),
        ("0 6 29 2 *", utc(2025, 3, 1, 0, 0), utc(2024, 2, 29, 6, 0), utc(2028, 2, 29, 6, 0)),
    ],
)
def test_due_times_on_an_injected_clock(when, now, latest, following):
    parsed = parse_when(when)
    assert (parsed.latest(now), parsed.next(now)) == (latest, following)


# --- schedule files ------------------------------------------------------------------------------------------------


@pytest.mark.fast
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when: daily at 06:00\nto: [a@example.com]\n", "`report` or `statements`: give exactly one"),
        (
            "report: {page: revenue_share, role: analyst}\nwhen: daily at 06:00\nto: [a@example.com]\n",
            "`report.role` 'analyst' may not open the Revenue share page; one of admin, finance",
        ),
        (
            "statements: {}\nwhen: daily at 25:00\nto: [a@example.com]\n",
            "`when` 25:00 is not a time of day; write HH:MM from 00:00 to 23:59 (UTC)",
        ),
        (
            "statements: {}\nwhen: weekly on caturday at 06:00\nfolder: out\n",
            "`when` 'caturday' is not a day of the week",
        ),
        (
            "statements: {period: March}\nwhen: daily at 06:00\nfolder: out\n",
            "`statements.period` 'March' is not previous_month or YYYY-MM",
        ),
        ("statements: {}\nwhen: daily at 06:00\nto: [finance]\n", "`to` 'finance' is not an email address"),
        ("statements: {}\nwhen: daily at 06:00\n", "`to` or `folder`: give at least one"),
        ("statements: {}\nwhen: 0 6 31 2 *\nfolder: out\n", "`when` cron line '0 6 31 2 *' never matches a real day"),
        (
            "statements: {}\nwhen: daily at 06:00\nfolder: out\ncc: x\n",
            "`cc` is not a field here (fields: folder, report, statements, to, when)",
        ),
    ],
)
def test_a_bad_schedule_file_names_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "monthly.yml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_schedules(tmp_path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert str(error.value).endswith("; fix the schedule file")
    assert "\n" not in str(error.value)


def test_a_bad_schedule_file_stops_the_command_in_one_line(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("EBOOK_ANALYTICS_")}
    env["EBOOK_ANALYTICS_HOME"] = str(tmp_path / "home")
    schedules = tmp_path / "home" / "schedules"
    schedules.mkdir(parents=True)
    (schedules / "weekly.yml").write_text("report: {page: ai_cost, role: analyst}\nwhen: weekly at 06:00\nto: x@y.z\n")
    for action in (["list"], ["run", "--due"]):
        result = run_cli("schedules", *action, env=env, check=False)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == (
            f"error: {schedules / 'weekly.yml'}: `when` 'weekly at 06:00' is not a schedule time; write daily at "
            "HH:MM, weekly on DAY at HH:MM, monthly on N at HH:MM or a cron line such as '0 6 * * 1' (UTC); "
            "fix the schedule file\n"
        )


@pytest.mark.fast
def test_a_report_schedule_takes_the_days_before_its_due_time(tmp_path):
    text = "report: {page: ai_cost, role: analyst, last_days: 7, filters: {provider: [openai, anthropic]}}\n"
    schedule = parse_schedule(
        yaml.safe_load(text + "when: weekly on monday at 06:00\nto: [cfo@example.com]"),
        tmp_path / "weekly-ai.yml",
    )
    assert schedule.what.dates(utc(2024, 3, 4, 6, 0)) == (utc(2024, 2, 26).date(), utc(2024, 3, 3).date())
    assert schedule.what.filters == (("provider", "openai"), ("provider", "anthropic"))
    assert schedule.description == "AI cost report pack (pdf, analyst)"


# --- delivery ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(published_dataset, tmp_path_factory) -> dict[str, str]:
    # A copy: deliveries write the state store and the audit log into the data folder. Each test has its own
    # schedules folder and schedule names, so the tests share the copy without seeing each other's schedules.
    return copy_published(published_dataset, tmp_path_factory.mktemp("schedules")) | {
        "EBOOK_ANALYTICS_PSEUDONYM_KEY": "test-key"
    }


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port):
    """A real SMTP server on localhost (no TLS: `smtp_starttls = false`), started on demand by `start()`."""
    handler = Inbox()
    controllers = []

    def start() -> Inbox:
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        controllers.append(controller)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def mail_env(published: dict[str, str], tmp_path: Path, port: int) -> dict[str, str]:
    return published | {
        "EBOOK_ANALYTICS_SCHEDULES_DIR": str(tmp_path / "schedules"),
        "EBOOK_ANALYTICS_SMTP_HOST": "127.0.0.1",
        "EBOOK_ANALYTICS_SMTP_PORT": str(port),
        "EBOOK_ANALYTICS_SMTP_STARTTLS": "false",
        "EBOOK_ANALYTICS_SMTP_SENDER": "analytics@example.com",
    }


def write_schedule(env: dict[str, str], name: str, text: str) -> Path:
    directory = Path(env["EBOOK_ANALYTICS_SCHEDULES_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yml"
    path.write_text(textwrap.dedent(text))
    return path


def attachments(raw: bytes) -> dict[str, bytes]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    return {part.get_filename(): part.get_payload(decode=True) for part in parsed.iter_attachments()}


def test_a_report_pack_arrives_by_email_as_the_report_command_writes_it(published, tmp_path, inbox, smtp_port):
    env = mail_env(published, tmp_path, smtp_port)
    received = inbox()
    write_schedule(
        env,
        "ai-weekly",
        """\
        report:
          page: ai_cost
          role: analyst
          start: 2024-03-01
          end: 2024-03-31
          filters: {provider: openai}
        when: weekly on monday at 06:00
        to: [cfo@example.com, analyst@example.com]
        """,
    )
    result = run_cli("schedules", "run", "ai-weekly", env=env)
    assert result.stdout.startswith("sent ai-weekly (due ")
    ((sender, recipients, raw),) = received.messages
    assert (sender, recipients) == ("analytics@example.com", ["cfo@example.com", "analyst@example.com"])
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "AI cost report pack (ai-weekly)"
    ((name, content),) = attachments(raw).items()
    deliveries = json.loads(run_cli("schedules", "list", "--json", env=env).stdout)
    (delivery,) = [row for row in deliveries if row["schedule"] == "ai-weekly"]
    due = datetime.fromisoformat(delivery["due_at"])
    assert name == f"ai-weekly-{due:%Y-%m-%dT%H%MZ}.pdf"
    expected = tmp_path / "expected.pdf"
    run_cli(
        "report",
        *("--page", "ai_cost", "--role", "analyst", "--start", "2024-03-01", "--end", "2024-03-31"),
        *("--filter", "provider=openai", "--format", "pdf", "--out", str(expected)),
        env=env,
    )
    assert content == expected.read_bytes()
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert "AI cost report pack" in text and "@" not in text  # an analyst's pack: no email
    assert {key: delivery[key] for key in ("schedule", "trigger_kind", "status", "attempts", "error")} == {
        "schedule": "ai-weekly",
        "trigger_kind": "manual",
        "status": "sent",
        "attempts": 1,
        "error": None,
    }
    assert json.loads(delivery["recipients"]) == ["cfo@example.com", "analyst@example.com"]
    audit = [json.loads(line) for line in run_cli("audit", "--json", env=env).stdout.splitlines()]
    sends = [entry for entry in audit if entry["action"] == "scheduled send"]
    assert [(entry["what"], entry["filters"]["to"], entry["files"]) for entry in sends] == [
        ("ai-weekly: AI cost report pack (pdf, analyst)", "cfo@example.com,analyst@example.com", [f"email:{name}"])
    ]


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's private CA) and its key."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_email_over_starttls_with_a_login(published, tmp_path, smtp_port, certificate, monkeypatch):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bool]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, session.ssl is not None))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=smtp_port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        env = mail_env(published, tmp_path, smtp_port) | {
            "EBOOK_ANALYTICS_SMTP_STARTTLS": "true",
            "EBOOK_ANALYTICS_SMTP_CAFILE": str(cert),
            "EBOOK_ANALYTICS_SMTP_USERNAME": "reports",
            "EBOOK_ANALYTICS_SMTP_PASSWORD": "wrong",
        }
        use_settings(monkeypatch, env)
        write_schedule(env, "over-tls", "statements: {format: csv}\nwhen: daily at 06:00\nto: [cfo@example.com]\n")
        (refused,) = run_due(utc(2024, 3, 2, 6, 0))
        assert (refused.status, refused.error) == (
            "pending",
            f"email via 127.0.0.1:{smtp_port} failed: (535, b'5.7.8 Authentication credentials invalid')",
        )
        monkeypatch.setenv("EBOOK_ANALYTICS_SMTP_PASSWORD", "s3cret")
        (sent,) = run_due(utc(2024, 3, 2, 6, 5))
        assert (sent.status, sent.attempts) == ("sent", 2)
    finally:
        controller.stop()
    # Every login came after STARTTLS (on the encrypted connection), as the configured user.
    assert set(logins) == {(b"reports", True)}
    ((_, recipients, raw),) = handler.messages
    assert recipients == ["cfo@example.com"] and list(attachments(raw)) == [
        f"statement-{ALICE}.csv",
        f"statement-{CAROL}.csv",
        "manifest.csv",
    ]


def test_a_send_to_a_server_that_is_down_is_retried_and_then_delivered(
    published, tmp_path, inbox, smtp_port, monkeypatch
):
    env = mail_env(published, tmp_path, smtp_port)
    use_settings(monkeypatch, env)
    write_schedule(
        env,
        "statements-monthly",
        """\
        statements: {format: csv}
        when: monthly on 1 at 06:00
        to: finance@example.com
        """,
    )
    due = utc(2024, 3, 1, 6, 0)  # the pack of the month before: February 2024
    # The SMTP server is down: recorded as pending with its error, the run reports it.
    (first,) = run_due(utc(2024, 3, 1, 6, 2))
    assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, "2024-03-01T06:07:00+00:00")
    assert first.error.startswith(f"email via 127.0.0.1:{smtp_port} failed: [Errno 111] Connection refused")
    # Before the backoff is over nothing is attempted; the due time is not taken again either.
    assert run_due(utc(2024, 3, 1, 6, 5)) == []
    received = inbox()
    (second,) = run_due(utc(2024, 3, 1, 6, 7))
    assert (second.status, second.attempts, second.error) == ("sent", 2, None)
    ((_, recipients, raw),) = received.messages
    assert recipients == ["finance@example.com"]
    files = attachments(raw)
    assert list(files) == [f"statement-{ALICE}.csv", f"statement-{CAROL}.csv", "manifest.csv"]
    assert files[f"statement-{ALICE}.csv"].count(b"\n") == 3  # the header and Alice's two February statements
    # Sent once per due time: later runs before the next due time send nothing.
    assert run_due(utc(2024, 3, 20, 0, 0)) == []
    assert len(received.messages) == 1
    (row,) = [row for row in read_deliveries() if row["schedule"] == "statements-monthly"]
    assert {key: row[key] for key in ("due_at", "status", "attempts", "sent_at", "error", "next_attempt_at")} == {
        "due_at": due.isoformat(),
        "status": "sent",
        "attempts": 2,
        "sent_at": "2024-03-01T06:07:00+00:00",
        "error": None,
        "next_attempt_at": None,
    }
    # The next due time is a new send.
    (april,) = run_due(utc(2024, 4, 1, 6, 0))
    assert (april.due_at, april.status) == ("2024-04-01T06:00:00+00:00", "sent")
    assert len(received.messages) == 2


def test_a_send_that_keeps_failing_gives_up_and_stays_reported(published, tmp_path, smtp_port, monkeypatch):
    env = mail_env(published, tmp_path, smtp_port)
    use_settings(monkeypatch, env)
    write_schedule(env, "never-delivered", "statements: {format: csv}\nwhen: daily at 00:00\nto: [x@example.com]\n")
    # Attempts at 00:00, then after 5, 10, 20 minutes: the fifth failure gives up.
    clock = [utc(2024, 3, 2, 0, 0), utc(2024, 3, 2, 0, 5), utc(2024, 3, 2, 0, 15), utc(2024, 3, 2, 0, 35)]
    clock.append(utc(2024, 3, 2, 1, 15))
    statuses = [[(o.status, o.attempts) for o in run_due(now)] for now in clock]
    assert statuses == [[("pending", 1)], [("pending", 2)], [("pending", 3)], [("pending", 4)], [("failed", 5)]]
    assert run_due(utc(2024, 3, 2, 23, 0)) == []
    result = run_cli("schedules", "list", env=env, check=False)
    assert "never-delivered" in result.stdout and "FAILED after 5 attempts" in result.stdout
    assert result.stderr.startswith("failed: never-delivered due 2024-03-02 00:00, 5 of 5 attempts: email via")
    run = run_cli("schedules", "run", "never-delivered", env=env, check=False)
    assert run.returncode == 1
    assert run.stderr.startswith("failed never-delivered (due ")


def test_folder_delivery_writes_the_statement_pack_as_the_export_does(published, tmp_path, monkeypatch):
    env = published | {"EBOOK_ANALYTICS_SCHEDULES_DIR": str(tmp_path / "schedules")}
    use_settings(monkeypatch, env)
    write_schedule(
        env,
        "pack-to-share",
        f"""\
        statements: {{period: 2024-02, format: [pdf, csv]}}
        when: monthly on 3 at 07:15
        folder: {tmp_path / "share"}
        """,
    )
    (outcome,) = run_due(utc(2024, 5, 10, 12, 0))
    assert (outcome.status, outcome.due_at) == ("sent", "2024-05-03T07:15:00+00:00")
    folder = tmp_path / "share" / "pack-to-share-2024-05-03T0715Z"
    exported = tmp_path / "exported"
    run_cli(
        "export",
        "statements",
        "--period",
        "2024-02",
        "--per-author",
        "--format",
        "pdf,csv",
        "--out",
        str(exported),
        env=env,
    )
    names = sorted(path.name for path in exported.iterdir())
    assert names == sorted(
        [f"statement-{ALICE}.csv", f"statement-{ALICE}.pdf", f"statement-{CAROL}.csv", f"statement-{CAROL}.pdf"]
        + ["manifest.csv"]
    )
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == {
        name: (exported / name).read_bytes() for name in names
    }
    written = [f"statement-{ALICE}.pdf", f"statement-{ALICE}.csv", f"statement-{CAROL}.pdf", f"statement-{CAROL}.csv"]
    assert outcome.files == [str(folder / name) for name in [*written, "manifest.csv"]]


def test_the_refresher_delivers_due_schedules_after_a_publication(published_dataset, create_database, tmp_path):
    env = copy_published(published_dataset, tmp_path, create_database) | {
        "EBOOK_ANALYTICS_SCHEDULES_DIR": str(tmp_path / "schedules")
    }
    write_schedule(
        env,
        "daily-pack",
        f"statements: {{period: 2024-02, format: csv}}\nwhen: daily at 00:00\nfolder: {tmp_path / 'out'}\n",
    )
    before = datetime.now(UTC)
    result = run_cli("etl", "run", "--every", "1h", "--max-runs", "1", env=env)
    (delivery,) = json.loads(run_cli("schedules", "list", "--json", env=env).stdout)
    due = datetime.fromisoformat(delivery["due_at"])
    # The newest 00:00 at the time of the publication: today's (tomorrow's, should the run cross midnight).
    assert (due.hour, due.minute) == (0, 0) and before.date() <= due.date() <= datetime.now(UTC).date()
    stamp = f"{due:%Y-%m-%d}T0000Z"
    assert f"sent daily-pack (due {due:%Y-%m-%d} 00:00): " in result.stdout
    assert sorted(path.name for path in (tmp_path / "out" / f"daily-pack-{stamp}").iterdir()) == [
        "manifest.csv",
        f"statement-{ALICE}.csv",
        f"statement-{CAROL}.csv",
    ]
    # cron's `schedules run --due` right after: this due time is sent already.
    again = run_cli("schedules", "run", "--due", env=env)
    assert again.stdout == "nothing due\n"


def test_cron_and_the_refresher_at_the_same_moment_send_a_due_time_once(published, tmp_path):
    env = published | {"EBOOK_ANALYTICS_SCHEDULES_DIR": str(tmp_path / "schedules")}
    write_schedule(env, "twice-due", f"statements: {{format: csv}}\nwhen: daily at 00:00\nfolder: {tmp_path / 'out'}\n")
    runs = [start_cli("schedules", "run", "--due", env=env) for _ in range(2)]
    outputs = sorted(run.communicate(timeout=300)[0] for run in runs)
    assert [run.returncode for run in runs] == [0, 0]
    # One took the due time under the lock and sent it; the other waited, then found it sent.
    assert outputs[0] == "nothing due\n" and outputs[1].startswith("sent twice-due (due ")
    (row,) = [
        row
        for row in json.loads(run_cli("schedules", "list", "--json", env=env).stdout)
        if row["schedule"] == "twice-due"
    ]
    assert (row["status"], row["attempts"]) == ("sent", 1)
    audit = [json.loads(line) for line in run_cli("audit", "--json", env=env).stdout.splitlines()]
    assert [entry["filters"]["schedule"] for entry in audit if entry["action"] == "scheduled send"].count(
        "twice-due"
    ) == 1
