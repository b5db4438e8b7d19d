"""`ebook-analytics dashboard` serves the Streamlit app; `ebook-analytics demo` sets everything up, then serves it."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

from dashboards.warm import start_watching
from pipelines.config import paths, setting, settings_file
from pipelines.errors import UserError
from pipelines.publish import lake

APP = Path(__file__).with_name("app.py")
SERVER = Path(__file__).with_name("server.py")  # the app plus the session cookie's routes (an st.App)
# Streamlit reads `.streamlit/config.toml` from the working directory only: ours goes over as flags instead.
STREAMLIT_CONFIG = Path(__file__).with_name("streamlit.toml")
DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"
DEMO_SCALE = "small"


def define_dashboard(dashboard: argparse.ArgumentParser) -> None:
    _server_arguments(dashboard)
    dashboard.add_argument(
        "--no-auth", action="store_true", help="no sign-in, everyone is admin (allowed only on a loopback address)"
    )
    dashboard.set_defaults(func=_dashboard)


def define_demo(demo: argparse.ArgumentParser) -> None:
    _server_arguments(demo)
    demo.set_defaults(func=_demo)


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="P", help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        metavar="H",
        help=f"address to listen on (default {DEFAULT_HOST}: this computer only)",
    )


def _dashboard(args: argparse.Namespace) -> int:
    return serve(args.host, args.port, no_auth=args.no_auth)


def _check_port(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise UserError(f"--port {port} is not a TCP port; use a number from 1 to 65535")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the server will: connections of a previous run lingering in TIME_WAIT do not make the port busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except socket.gaierror as exc:
            raise UserError(
                f"--host {host!r} is not an address of this computer ({exc.strerror}); use {DEFAULT_HOST} or 0.0.0.0"
            ) from exc
        except OSError as exc:
            raise UserError(
                f"cannot listen on {host}:{port} ({exc.strerror}); "
                "pick another port with --port, or stop what is using it"
            ) from exc


def _server_env(host: str, no_auth: bool) -> dict[str, str]:
    """The locations as this command resolved them, absolute: the app sees the same files whatever its directory."""
    env = dict(os.environ)
    env.update(
        EBOOK_ANALYTICS_HOME=str(paths().home),
        EBOOK_ANALYTICS_WAREHOUSE=str(paths().warehouse),
        EBOOK_ANALYTICS_USERS_FILE=str(paths().users_file),
        EBOOK_ANALYTICS_BIND_ADDRESS=host,
    )
    if no_auth:
        env["EBOOK_ANALYTICS_NO_AUTH"] = "1"
    else:
        env.pop("EBOOK_ANALYTICS_NO_AUTH", None)
    return env


def streamlit_flags(path: Path = STREAMLIT_CONFIG) -> list[str]:
    """`--section.option=value` for every setting of our Streamlit config file."""
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    flags = []
    for section, options in config.items():
        for option, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{option}={text}")
    return flags


def server_command(host: str, port: int) -> list[str]:
    """`streamlit run dashboards/server.py` with our Streamlit settings and our settings file as its secrets."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SERVER),
        "--server.port",
        str(port),
        "--server.address",
        host,
        *streamlit_flags(),
        # Sign-in's [auth] section lives in our settings file, not in a .streamlit/ of the working directory.
        f"--secrets.files={settings_file()}",
    ]


def serve(host: str, port: int, *, no_auth: bool = False, banner: str = "") -> int:
    """Run `streamlit run dashboards/server.py` until Ctrl+C (or SIGTERM), read-only on the published warehouse."""
    if no_auth:
        from dashboards.auth import ensure_no_auth_allowed

        ensure_no_auth_allowed(host)
    _check_port(host, port)
    if lake.version(lake.configured()) is None:
        print(
            f"note: no warehouse at {paths().warehouse} yet; the pages will say so until `etl run` publishes one",
            file=sys.stderr,
        )
    command = server_command(host, port)
    env = _server_env(host, no_auth)
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    # A new publication's default views are drawn into the shared cache before its first viewer asks.
    start_watching(paths().warehouse, env)
    # Stopping this command stops the server too: nothing is left listening behind it.
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    url_host = f"[{host}]" if ":" in host else host
    print(f"{banner}dashboards: http://{url_host}:{port}  (Ctrl+C to stop)", flush=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=15)
        return 0


def _step(*argv: str) -> None:
    """Run another step's command in this process, exactly as `ebook-analytics ARGV` would."""
    from pipelines.cli import main

    print(f"$ ebook-analytics {' '.join(argv)}", flush=True)
    if main(list(argv)) != 0:
        raise UserError(
            f"the demo stopped because `ebook-analytics {' '.join(argv)}` failed (see above); "
            "fix that and run `ebook-analytics demo` again"
        )


def _source_has_users() -> bool:
    from pipelines.connections import connect, source_url
    from pipelines.queries import sql_file

    with connect(source_url()) as conn:
        return bool(conn.execute(sql_file("source/seed_has_users")).fetchone()[0])


def _demo(args: argparse.Namespace) -> int:
    """Each step runs only when its result is missing, so running the demo again reuses what exists."""
    if setting("source_url") is None:
        _step("source", "start")  # the demo's own source: the embedded server of the data folder
    _step("source", "init")
    if not _source_has_users():
        _step("source", "seed", "--scale", DEMO_SCALE)
    if lake.version(lake.configured()) is None:
        _step("etl", "run")
    from dashboards.auth.users import ensure_demo_admin

    email, password = ensure_demo_admin()
    return serve(args.host, args.port, banner=f"demo sign-in: {email} / {password}\n")
