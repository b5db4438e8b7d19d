#!/usr/bin/env bash
# The test command (README, .ci/run): sets up everything on a fresh machine, then runs lint, format, SQL lint, type checks and the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the browser test and Debian's Java runs Spark (tests/test_spark.py: the Spark engine's
# equality with DuckDB; 17 or newer); nothing downloads a browser or a JDK of its own. The packages install while the
# venv does (apt waits on the network and dpkg, pip on its own downloads); the suite waits for them.
system_packages() {
    local missing=()
    # Chromium's recommended packages (printing, sound, udev, samba: 107 packages against 19) are of no use headless
    # (apt 21 -> 12 s); of them only Liberation Sans, Arial's metrics, which the charts' text is laid out in.
    command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)
    local java_major
    java_major=$( (java -version 2>&1 || true) | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
    [ "${java_major:-0}" -ge 17 ] || missing+=(openjdk-17-jre-headless)
    [ "${#missing[@]}" -gt 0 ] || return 0
    # (the JRE package fails to configure in slim images without the man page folder)
    (mkdir -p /usr/share/man/man1 && apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null) \
        || echo "warning: could not install ${missing[*]}; the browser or Spark tests will be skipped" >&2
}
system_packages &
packages=$!

if [ ! -x .venv/bin/python ]; then
    # Without ensurepip's pip (3.7 of the venv's 3.8 s, most of it compiling pip): pip and uv go in together, below.
    python3 -m venv --without-pip .venv
fi
# Byte code is written on first import, so the suite's hundreds of Python processes (servers, drills, fresh
# interpreters) compile each module once, not at every start (an environment may say otherwise: this is our venv
# and checkout). The install then compiles nothing up front (PySpark's, Playwright's, ...: half pip's time; uv
# never does).
unset PYTHONDONTWRITEBYTECODE
# uv installs the same ranges (pyproject.toml) as pip in half the time: pip spends ~40 s parsing every release listed
# on each package's index page (54 -> 28 s here). uv reads the public index only; where it cannot be had or cannot
# reach it (a machine with only its own mirror), pip, configured as the machine says, installs instead.
# PySpark comes as an sdist only, built into a wheel: its jars (already compressed) are stored in that wheel, not
# deflated again (the build 16 -> 6 s). An index that sends no cache validators (this machine's) makes uv fetch that
# 456 MB sdist again and build it at every install, keeping each build (its cache grew ~1 GB an install): what uv has
# cached installs offline (10 -> 3 s), and only what it lacks is fetched.
TOOLS=('pip>=23' 'uv>=0.13,<1')
venv_pip() {  # the venv's own pip, put in by ensurepip where the machine's pip did not put one in
    .venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip >/dev/null
    .venv/bin/python -m pip -q --disable-pip-version-check "$@"
}
uv_install() {
    .venv/bin/uv pip install -q --python .venv/bin/python \
        --config-settings-package 'pyspark:--build-option=--compression=stored' "$@" -e '.[test]'
}
install_with_uv() {
    # pip and uv, uncompiled, by the machine's pip (into the venv: its --python) in 2.4 s, else by the venv's own
    { python3 -m pip --python .venv/bin/python install -q --disable-pip-version-check --no-compile "${TOOLS[@]}" \
        2>/dev/null || venv_pip install --no-compile "${TOOLS[@]}"; } \
        && { uv_install --offline 2>/dev/null || uv_install; }
}
if ! install_with_uv; then
    echo "uv could not install the test environment (above); pip installs it instead" >&2
    venv_pip install --no-compile -e '.[test]'
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The type check and the SQL lint take most of a minute and share nothing with the suite: they run beside it, on
# the share of the two cores the suite leaves while it waits on PostgreSQL, subprocesses and the browser, and their
# verdicts are read when it ends (a failure in either fails the run, as a failed test does).
checks=$(mktemp -d)
memory_folder=()  # pytest's --basetemp in memory, when there is room (below)
trap 'rm -rf "$checks" "${memory_folder[@]:1}"' EXIT
# Each in a process group of its own, as the suite below: a stop reaches what they started (sqlfluff's workers).
declare -A checker=()  # name -> pid; its output in $checks/name
setsid .venv/bin/mypy > "$checks/mypy" 2>&1 &  # strict on pipelines/: pyproject.toml [tool.mypy]
checker[mypy]=$!
setsid .venv/bin/sqlfluff lint queries > "$checks/sqlfluff" 2>&1 &  # dialect, templater, rules: [tool.sqlfluff]
checker[sqlfluff]=$!
suite_pid=  # pytest's, once started (below)
# A stop (Ctrl+C, or a CI's cancel or time limit: SIGTERM to this script) reaches every process the checks and the
# suite started, as SIGTERM (SIGINT is ignored in background jobs): pytest's workers and pytest then run their
# teardowns (tests/conftest.py), which stop the tests' PostgreSQL servers and remove their folders. Before the suite
# has started (while the system packages install), the script ends at once.
stop() {  # EXIT_STATUS: the script's own, when the suite has not started
    kill -TERM -- "-${checker[mypy]}" "-${checker[sqlfluff]}" ${suite_pid:+"-$suite_pid"} 2>/dev/null || true
    [ -n "$suite_pid" ] || exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM
wait "$packages"
# The tests' folders (each worker's PostgreSQL, every test's warehouse) live in memory where the machine has room for
# them: no disk writes, no fsync waits (434 -> 407 s). A passed test's folder goes when it ends (pyproject.toml), the
# rest when the suite does; with --basetemp DIR (the last one given is pytest's) a failed test's folder stays there.
if [ -d /dev/shm ] && [ "$(df --output=avail -k /dev/shm | tail -n 1)" -ge $((8 << 20)) ] \
    && [ "$(awk '$1 == "MemAvailable:" {print $2}' /proc/meminfo)" -ge $((12 << 20)) ]; then
    memory_folder=(--basetemp "$(mktemp -d /dev/shm/ebook-analytics-tests.XXXXXX)")
fi
# Two workers: the suite waits on PostgreSQL, subprocesses and the browser as much as it computes, so two cores carry
# two workers. Tests sharing a module fixture stay on one worker (it publishes once), every other test is a work unit
# of its own, longest first (tests/work_units.py), so no long module holds up the end.
setsid .venv/bin/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder "${memory_folder[@]}" "$@" &
suite_pid=$!
suite=0
wait "$suite_pid" || suite=$?
while kill -0 "$suite_pid" 2>/dev/null; do  # that wait was cut short by a stop: the suite is still tearing down
    suite=0
    wait "$suite_pid" || suite=$?
done
status=$suite
for check in mypy sqlfluff; do
    check_status=0
    wait "${checker[$check]}" || check_status=$?
    if [ "$check_status" -ne 0 ]; then
        cat "$checks/$check"
        [ "$status" -ne 0 ] || status=$check_status
    fi
done
exit "$status"
