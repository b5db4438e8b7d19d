#!/usr/bin/env bash
# The test command (README, .ci/run): sets up everything on a fresh machine, then runs lint, format, SQL lint, type checks and the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the browser test; nothing downloads a browser of its own.
if ! command -v chromium >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi

# Debian's Java runs Spark for tests/test_spark.py (the Spark engine's equality with DuckDB): 17 or newer.
java_major=$( (java -version 2>&1 || true) | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
if [ "${java_major:-0}" -lt 17 ]; then
    # (the JRE package fails to configure in slim images without the man page folder)
    (mkdir -p /usr/share/man/man1 && apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
        || echo "warning: could not install Java 17 (openjdk-17-jre-headless); the Spark tests will be skipped" >&2
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Byte code is written on first import, so the suite's hundreds of Python processes (servers, drills, fresh
# interpreters) compile each module once, not at every start (an environment may say otherwise: this is our venv
# and checkout). --no-compile then skips compiling every installed module up front (PySpark's, Playwright's, ...),
# half the install's time.
unset PYTHONDONTWRITEBYTECODE
.venv/bin/python -m pip install -q --disable-pip-version-check --no-compile -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The SQL lint and the type check take half a minute each and share nothing: side by side they take the longer one.
.venv/bin/mypy &  # strict on pipelines/: pyproject.toml [tool.mypy]
types=$!
sql_lint=0
.venv/bin/sqlfluff lint queries || sql_lint=$?  # dialect, templater and rules: pyproject.toml [tool.sqlfluff]
wait "$types"
[ "$sql_lint" -eq 0 ] || exit "$sql_lint"
# Two workers: the suite waits on PostgreSQL, subprocesses and the browser as much as it computes, so two cores carry
# two workers. Tests sharing a module fixture stay on one worker (it publishes once), every other test is a work unit
# of its own, longest first (tests/work_units.py), so no long module holds up the end.
exec .venv/bin/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder "$@"
