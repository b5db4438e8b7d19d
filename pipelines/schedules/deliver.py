"""Where a scheduled pack goes: files into a folder, and one email with the files attached over SMTP.

SMTP settings (environment `EBOOK_ANALYTICS_SMTP_*` or the settings file, `pipelines.config`): `smtp_host`,
`smtp_port` (default 587 with STARTTLS, else 25), `smtp_username` and `smtp_password` (to log in; keep the password
in the environment or the settings file, never in a schedule file), `smtp_starttls` (`true` by default; `false`
only for a relay on the same host), `smtp_cafile` (the certificates to trust instead of the system's, for a server
with a private CA) and `smtp_sender` (the From address). The server's certificate is always verified.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from pipelines.config import setting
from pipelines.errors import UserError, first_line

SMTP_TIMEOUT_SECONDS = 30
MEDIA_TYPES = {
    "pdf": ("application", "pdf"),
    "csv": ("text", "csv"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    cafile: str | None
    sender: str


def smtp_settings() -> SmtpSettings:
    """The SMTP settings, or a `UserError` saying which one is missing."""
    host, sender = setting("smtp_host"), setting("smtp_sender")
    if not host or not sender:
        missing = "smtp_host" if not host else "smtp_sender"
        raise UserError(f"no {missing} setting for email delivery; set EBOOK_ANALYTICS_{missing.upper()}")
    starttls_text = setting("smtp_starttls", "true").lower()
    if starttls_text not in ("true", "false"):
        raise UserError(f"smtp_starttls is {starttls_text!r}; set it to true or false")
    starttls = starttls_text == "true"
    port_text = setting("smtp_port", "587" if starttls else "25")
    if not port_text.isdigit():
        raise UserError(f"smtp_port is {port_text!r}; set it to a port number")
    return SmtpSettings(
        host=host,
        port=int(port_text),
        username=setting("smtp_username"),
        password=setting("smtp_password"),
        starttls=starttls,
        cafile=setting("smtp_cafile"),
        sender=sender,
    )


def message(sender: str, to: Sequence[str], subject: str, body: str, files: Mapping[str, bytes]) -> EmailMessage:
    """The email: a short text body, each file attached under its name."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = subject
    mail.set_content(body)
    for name, content in files.items():
        maintype, subtype = MEDIA_TYPES.get(name.rsplit(".", 1)[-1], ("application", "octet-stream"))
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return mail


def send_mail(settings: SmtpSettings, mail: EmailMessage, to: Sequence[str]) -> None:
    """Send over SMTP; a `UserError` with the server's or the network's first line when it does not go through."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.cafile))
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(mail, from_addr=settings.sender, to_addrs=list(to))
    except (OSError, smtplib.SMTPException) as exc:
        raise UserError(f"email via {settings.host}:{settings.port} failed: {first_line(exc)}") from exc


def write_folder(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write the files into `folder` (created if missing); returns their paths."""
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / name).write_bytes(content)
            written.append(folder / name)
    except OSError as exc:
        raise UserError(f"cannot write to the folder {folder}: {exc.strerror}") from exc
    return written
