"""The mart contracts: the committed doc is their rendering, and the built marts are exactly what they promise."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from pipelines import warehouse
from pipelines.transform.changes import change_table
from pipelines.transform.contract_docs import DOC_PATH, render
from pipelines.transform.contracts import (
    MARTS_DIR,
    MartContract,
    load_contracts,
    parse_contract,
    parse_refresh,
    shared_mappings,
)
from pipelines.transform.lineage import lineage
from pipelines.transform.runner import mapping_plans, mapping_select
from pipelines.yaml_files import read_yaml
from tests.conftest import run_cli

CONTRACTS = load_contracts()


@pytest.fixture(scope="module")
def con(published_dataset: dict[str, str]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = warehouse.connect(published_dataset["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    yield connection
    connection.close()


def built_columns(con: duckdb.DuckDBPyConnection, mart: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = $mart order by ordinal_position",
        {"mart": mart},
    ).fetchall()


@pytest.mark.fast
def test_committed_doc_is_the_rendering_of_the_contracts():
    assert DOC_PATH.read_text() == render(CONTRACTS), "run `python -m pipelines.transform.contract_docs`"


@pytest.mark.fast
def test_every_model_has_a_contract_of_its_name():
    models = sorted(path.stem for path in MARTS_DIR.glob("*.sql"))
    assert [contract.name for contract in CONTRACTS] == models
    assert sorted(path.stem for path in MARTS_DIR.glob("*.yml")) == models


@pytest.mark.fast
@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_contract_is_consistent(contract: MartContract):
    assert set(contract.unique_key) <= set(contract.column_names)
    assert len(set(contract.column_names)) == len(contract.columns)
    assert contract.grain.startswith("One row per")
    assert not any(column.type in ("FLOAT", "DOUBLE") and "usd" in column.name for column in contract.columns)


@pytest.mark.fast
@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_refresh_maps_only_tables_the_mart_reads(contract: MartContract):
    assert {name for name, _ in contract.refresh.inputs} <= lineage().reads[f"marts.{contract.name}"]


@pytest.mark.fast
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (None, "refresh must be `whole` or"),
        ({"by": "week", "column": "day"}, "refresh must be `whole` or"),
        ({"by": "day", "column": "month"}, "needs `column`, one of the mart's columns"),
        ({"by": "day", "column": "day", "lookback_months": 1}, "does not know lookback_months"),
        ({"by": "day", "column": "day", "lookback_days": -1}, "lookback_days must be a whole number"),
        ({"by": "key", "column": "day", "spine": True}, "refresh by key does not know spine"),
        ({"by": "day", "column": "day", "inputs": {"staging.x": 1}}, "staging.x: a refresh input maps to a SQL"),
        (
            {"by": "day", "column": "day", "inputs": {"staging.x": {"mapping": "user_days"}}},
            r"staging.x: no mapping 'user_days' in mappings.yml; it names \['days_of'\]",
        ),
        ({"by": "day", "column": "day", "inputs": {"staging.x": {"mapping": "days_of", "as": "y"}}}, "maps to a SQL"),
    ],
)
def test_a_wrong_refresh_declaration_is_a_clear_error(spec: object, message: str):
    with pytest.raises(ValueError, match=message):
        parse_refresh(spec, ["day", "users"], "x.yml:refresh", {"days_of": "changed.day"})


@pytest.mark.fast
def test_a_named_mapping_is_its_shared_expression_and_each_is_shared():
    spec = {"by": "day", "column": "day", "inputs": {"staging.x": {"mapping": "days_of"}, "staging.y": "changed.d"}}
    refresh = parse_refresh(spec, ["day"], "x.yml:refresh", {"days_of": "unnest(changed.days)"})
    assert refresh.inputs == (("staging.x", "unnest(changed.days)"), ("staging.y", "changed.d"))
    # A mapping is named only to be written once: each is used by more than one mart.
    uses = {name: 0 for name in shared_mappings()}
    for path in sorted(MARTS_DIR.glob("*.yml")):
        declared = read_yaml(path).get("refresh")
        inputs = (declared.get("inputs") or {}) if isinstance(declared, dict) else {}  # `refresh: whole` has none
        for value in inputs.values():
            if isinstance(value, dict):
                uses[value["mapping"]] += 1
    assert {name: count for name, count in uses.items() if count < 2} == {}
    # the three shared by the AI marts and the event marts, three times each; the sign-up one by two marts by user
    assert sum(uses.values()) == 11


@pytest.mark.fast
def test_a_key_column_that_may_be_null_cannot_refresh_by_key():
    # a NULL key reaches nothing: its rows would never be refreshed
    columns = [{"name": "id", "type": "UUID", "description": "d", "checks": ["unique"]}]
    contract = {"name": "x", "description": "d", "grain": "g", "columns": columns}
    with pytest.raises(ValueError, match="the key column id must be checked not_null"):
        parse_contract({**contract, "refresh": {"by": "key", "column": "id", "inputs": {}}}, "x.yml")
    columns[0]["checks"] = ["not_null"]
    assert parse_contract({**contract, "refresh": {"by": "key", "column": "id"}}, "x.yml").refresh.by == "key"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_built_mart_has_exactly_the_contract_columns(con, contract: MartContract):
    assert built_columns(con, contract.name) == [(column.name, column.type) for column in contract.columns]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_contract_checks_hold_on_the_dataset(con, contract: MartContract):
    table = f"marts.{contract.name}"  # names from our own contracts
    key = ", ".join(contract.unique_key)
    duplicates = con.execute(f"select count(*) from (select {key} from {table} group by all having count(*) > 1)")
    assert duplicates.fetchone() == (0,)
    for check in contract.checks:
        failing = con.execute(f"select count(*) from {table} where not ({check.expect})").fetchone()
        assert failing == (0,), check.name
    for reconciliation in contract.reconcile:
        (mart_total,) = con.execute(f"select {reconciliation.mart} from {table}").fetchone()
        (source_total,) = con.execute(reconciliation.source).fetchone()
        assert mart_total == source_total and mart_total not in (None, 0), reconciliation.name


def test_marts_build_from_an_empty_source(cli_env):
    """No rows anywhere: every mart is still built (empty), and the spines do not trip over NULL bounds."""
    run_cli("etl", "run", "--full", env=cli_env)
    con = warehouse.connect(cli_env["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        for contract in CONTRACTS:
            assert con.execute(f"select count(*) from marts.{contract.name}").fetchone() == (0,), contract.name
    finally:
        con.close()


def test_every_mapping_is_planned_as_joins_on_equal_keys(published_dataset: dict[str, str]):
    """A declaration's expression runs once per run over its input's changed rows; a subquery it cannot join on an
    equal key becomes a nested loop, every changed row against every row of the table it reads (a coalesce over a
    subquery did, and at large filled the disk). Each is planned as the runner plans it, over empty change sets."""
    con = warehouse.connect(published_dataset["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    inputs = {name for contract in CONTRACTS for name, _ in contract.refresh.inputs}
    for name in inputs:
        con.execute(f"create temp table {change_table(name)} as select 'new' as _version, * from {name} limit 0")
    unequal = {}
    with mapping_plans(con):
        for contract in CONTRACTS:
            for name, expression in contract.refresh.inputs:
                plan = "\n".join(
                    row[1] for row in con.execute(f"explain {mapping_select(name, expression, 'p')}").fetchall()
                )
                found = [op for op in ("NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "CROSS_PRODUCT") if op in plan]
                if found:
                    unequal[f"{contract.name} <- {name}"] = found
    con.close()
    assert unequal == {}
