"""Analyses on a table where it lives (an Ibis source), checked against the same data imported into a
workspace; the mapping and its row account; scoring joined back in the engine."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from ltvkit.analytics.cohorts import cohort_table
from ltvkit.cli import app
from ltvkit.data.sources import Source, map_orders, write_result
from ltvkit.data.workspace import Workspace
from ltvkit.errors import MappingError, SourceError
from ltvkit.io.presets import load_mapping
from ltvkit.models import BetaGeoModel, GammaGammaModel
from ltvkit.predict.clv import customer_value, customer_value_table
from ltvkit.predict.summaries import customer_summary
from ltvkit.service.valuation import fit_model, predict_customers, score_customers, score_totals
from warehouse import analyses, assert_same, warehouse_files

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return warehouse_files(tmp_path_factory.mktemp("warehouse"))


def messy_orders() -> pd.DataFrame:
    """Twelve rows of a warehouse table, six of them unusable for six different reasons."""
    rows = [
        # order, user, email, paid at, total, refund, state, currency
        ("1", "u1", None, "2026-01-05 10:00", 100.0, None, "Completed", "usd"),  # paid
        ("2", "u1", None, "2026-02-05 10:00", 50.0, None, "REFUNDED", "USD"),  # refunded whole
        ("3", "u2", None, "2026-01-07 10:00", 80.0, 30.0, "paid", "USD"),  # partially refunded
        ("4", "u2", None, "2026-03-01 10:00", -20.0, None, "paid", "USD"),  # a refund on its own row
        ("5", None, "A@X.com", "2026-01-09 10:00", 40.0, None, "paid", "USD"),  # customer = the email
        ("6", None, None, "2026-01-09 10:00", 40.0, None, "paid", "USD"),
        ("7", "u3", None, None, 40.0, None, "paid", "USD"),
        ("8", "u3", None, "2026-01-09 10:00", None, None, "paid", "USD"),
        ("9", "u3", None, "2026-01-09 10:00", 40.0, None, "weird", "USD"),
        ("10", "u3", None, "2026-01-09 10:00", 10.0, 20.0, "paid", "USD"),
        ("11", "u4", None, "2026-01-09 10:00", 10.0, None, "paid", "dollars?"),
        ("12", "u4", None, "2026-01-10 10:00", 15.0, None, "paid", None),  # the mapping's currency
    ]
    frame = pd.DataFrame(
        rows, columns=["order_no", "user", "email", "paid_at", "total", "refund", "state", "cur"]
    )
    frame["paid_at"] = pd.to_datetime(frame["paid_at"])
    return frame


MESSY_MAPPING = """
[columns]
order_id = "order_no"
customer_id = "user"
email = "email"
ordered_at = "paid_at"
amount = "total"
refunded = "refund"
status = "state"
currency = "cur"
[options]
currency = "EUR"
"""


def test_every_row_is_usable_or_left_out_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(MESSY_MAPPING)
    source = Source(ibis.memtable(messy_orders()), mapping=tmp_path / "m.toml", name="sales")
    account = source.account()
    assert (account.rows, account.usable) == (12, 6)
    unknown = next(r for r in account.left_out if r.startswith("unknown status 'weird' (known: "))
    assert account.left_out == {
        "empty amount": 1,
        "no customer id, email or phone": 1,
        "empty date": 1,
        "is not a currency code (use e.g. RUB, USD)": 1,
        "the refund is larger than the amount": 1,
        unknown: 1,
    }
    assert account.note() == (
        "6 of 12 rows of sales are left out: 1 empty amount; 1 empty date; "
        "1 is not a currency code (use e.g. RUB, USD); 1 no customer id, email or phone; "
        "1 the refund is larger than the amount; 1 more reasons"
    )
    assert sorted(source.left_out()["order_id"]) == ["10", "11", "6", "7", "8", "9"]
    usable = source.table("orders").execute().set_index("order_id").sort_index()
    assert list(usable.index) == ["1", "12", "2", "3", "4", "5"]
    assert usable["status"].to_dict() == {
        "1": "paid",
        "12": "paid",
        "2": "refunded",
        "3": "partially_refunded",
        "4": "refunded",
        "5": "paid",
    }
    assert usable["refunded"].to_dict() == {"1": 0, "12": 0, "2": 50, "3": 30, "4": 0, "5": 0}
    assert usable["currency"].to_dict() == {
        "1": "USD",
        "12": "EUR",
        "2": "USD",
        "3": "USD",
        "4": "USD",
        "5": "USD",
    }
    assert usable.loc["5", "customer_id"] == "a@x.com"


def test_usual_column_names_need_no_mapping() -> None:
    frame = pd.DataFrame(
        {
            "Customer ID": ["a", "a", "b"],
            "Order Date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-03"]),
            "Amount": [10, 20, 5],
        }
    )
    source = Source(ibis.memtable(frame), currency="usd")
    assert source.columns == {
        "customer_id": ["Customer ID"],
        "ordered_at": ["Order Date"],
        "amount": ["Amount"],
    }
    orders = source.table("orders").execute()
    assert set(orders["status"]) == {"paid"} and set(orders["currency"]) == {"USD"}
    assert orders["amount"].sum() == 35


def test_mapping_errors_name_the_table_and_column(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        '[columns]\ncustomer_id = "client"\nordered_at = "when"\namount = "sum"\n'
    )
    table = ibis.memtable(pd.DataFrame({"client": ["a"], "when": ["2026-01-01"], "total": [1.0]}))
    with pytest.raises(
        MappingError,
        match=r"sales: the mapping names column 'sum' for amount, but the file has no such column — the "
        r"file's columns are: client, when, total",
    ):
        map_orders(table, load_mapping(tmp_path / "m.toml"), name="sales")
    flags = ibis.memtable(pd.DataFrame({"client": ["a"], "when": ["2026-01-01"], "sum": [True]}))
    with pytest.raises(
        MappingError, match=r"column 'sum': amount cannot be read from a column of type boolean"
    ):
        map_orders(flags, load_mapping(tmp_path / "m.toml"), name="sales")
    with pytest.raises(MappingError, match=r"no column for ordered_at \(looked for: "):
        Source(ibis.memtable(pd.DataFrame({"customer_id": ["a"]})))


def test_text_amounts_and_dates_of_a_table_are_read_by_the_locale_rules(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        '[columns]\ncustomer_id = "client"\nordered_at = "when"\namount = "sum"\n'
    )
    texts = pd.DataFrame(
        {"client": ["a", "b"], "when": ["05.01.2026", "31.01.2026"], "sum": ["1 234,5 ₽", "7,25"]}
    )
    orders = Source(ibis.memtable(texts), mapping=tmp_path / "m.toml").table("orders").execute()
    assert list(orders.sort_values("customer_id")["amount"]) == [1234.5, 7.25]
    assert list(orders.sort_values("customer_id")["currency"]) == ["RUB", "XXX"]
    assert list(orders.sort_values("customer_id")["ordered_at"].dt.day) == [5, 31]


def test_connection_errors_are_source_errors(files: dict[str, Path]) -> None:
    with pytest.raises(SourceError, match="no DuckDB database at /no/such.duckdb"):
        Source.open("duckdb:///no/such.duckdb")
    with pytest.raises(SourceError, match=r"pip install 'ibis-framework\[mysql\]'"):
        Source.open("mysql://user:secret@localhost/shop")
    with pytest.raises(SourceError, match=r"cannot connect to nosuch://bob:\*\*\*@host/db") as caught:
        Source.open("nosuch://bob:hunter2@host/db")
    assert "hunter2" not in str(caught.value)  # a password is never shown
    listed = r"cannot read the table 'sales'.*tables: client_payments, clients, imports, meta"
    with pytest.raises(SourceError, match=listed):
        Source.open(f"duckdb://{files['workspace']}", "sales")


def test_a_workspace_file_read_as_a_source_gives_the_workspace_results(files: dict[str, Path]) -> None:
    with Workspace.open(files["workspace"], read_only=True) as ws:
        expected = analyses(ws)
    with Source.open(f"duckdb://{files['workspace']}", "orders", spend_table="spend") as source:
        assert source.account().left_out == {}
        assert_same(analyses(source), expected)


def test_parquet_under_other_names_with_a_mapping_gives_the_workspace_results(files: dict[str, Path]) -> None:
    with Workspace.open(files["workspace"], read_only=True) as ws:
        expected = analyses(ws)
    with Source.open(
        str(files["orders"]), mapping=files["mapping"], spend_table=str(files["spend"])
    ) as source:
        assert source.columns["ordered_at"] == ["paid_ts"]
        assert_same(analyses(source), expected)


def test_fit_reads_only_compressed_statistics_and_matches_the_paper(files: dict[str, Path]) -> None:
    with Source.open(str(files["cdnow"]), mapping=files["mapping"]) as source:
        result = fit_model(source.table("orders"), "bgnbd", observation_end="1997-09-30")
    assert result.model.n_customers_ == 2357
    assert {k: round(v, 3) for k, v in result.model.params_.items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }


def test_scores_joined_in_the_engine_equal_scores_computed_here(
    files: dict[str, Path], tmp_path: Path
) -> None:
    with Source.open(str(files["cdnow"]), mapping=files["mapping"]) as source:
        orders = source.table("orders")
        expr, info = score_customers(orders, horizon=6, unit="month", discount_rate=0.1, margin=0.4)
        engine = expr.execute().set_index("customer_id").sort_index()
        local, local_info = predict_customers(
            orders, horizon=6, unit="month", discount_rate=0.1, margin=0.4, intervals=False
        )
        written = write_result(source.backend, expr, tmp_path / "scores.parquet")
        totals = score_totals(written)
    local = local.set_index("customer_id").sort_index()
    assert len(engine) == 2357 and info["purchase_params"] == local_info["purchase_params"]
    for column in ("probability_alive", "expected_purchases", "expected_spend", "clv"):
        pd.testing.assert_series_equal(engine[column], local[column], rtol=1e-12)
    assert totals["customers"] == 2357
    assert totals["total_clv"] == pytest.approx(local_info["total_clv"], rel=1e-12)
    assert pd.read_parquet(tmp_path / "scores.parquet")["clv"].sum() == pytest.approx(
        local_info["total_clv"], rel=1e-12
    )


def test_value_table_spend_is_gamma_gamma_expected_spend() -> None:
    summary = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "frequency": [0.0, 2.0, 5.0],
            "recency": [0.0, 10.0, 30.0],
            "T": [40.0, 40.0, 40.0],
            "monetary_value": [0.0, 35.5, 12.0],
        }
    )
    bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    engine = customer_value_table(bg, gg, ibis.memtable(summary), horizon=52, unit="week", discount_rate=0.1)
    here = customer_value(bg, gg, summary, horizon=52, unit="week", discount_rate=0.1, interval=None)
    pd.testing.assert_frame_equal(
        engine.execute().sort_values("customer_id").reset_index(drop=True), here, rtol=1e-12
    )
    # x = 0: the population mean p·γ/(q − 1)
    assert engine.execute().set_index("customer_id").loc["a", "expected_spend"] == pytest.approx(
        6.25 * 15.44 / 2.74
    )


def test_cli_runs_on_a_source_and_writes_scores_there(files: dict[str, Path], tmp_path: Path) -> None:
    source = ["--source", str(files["orders"]), "--mapping", str(files["mapping"])]
    checked = runner.invoke(app, [*source, "check", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["usable"] == 11
    on_source = runner.invoke(app, [*source, "cohorts", "--format", "csv", "--out", str(tmp_path / "a.csv")])
    on_workspace = runner.invoke(
        app, ["cohorts", "-w", str(files["workspace"]), "--format", "csv", "--out", str(tmp_path / "b.csv")]
    )
    assert on_source.exit_code == 0 and on_workspace.exit_code == 0, on_source.output + on_workspace.output
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()

    copy = tmp_path / "cdnow.duckdb"
    with duckdb.connect(str(copy)) as con:
        con.execute("CREATE TABLE sales AS SELECT * FROM read_parquet(?)", [str(files["cdnow"])])
    scored = runner.invoke(
        app,
        [
            "--source",
            f"duckdb://{copy}",
            "--table",
            "sales",
            "--mapping",
            str(files["mapping"]),
            "predict",
            "--out-table",
            "scores",
            "--json",
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["customers"] == 2357
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT customer_id) FROM scores").fetchall() == [
            (2357, 2357)
        ]


def test_cli_check_needs_a_source() -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1 and "check looks at a --source table" in result.output


def test_cohorts_of_a_python_ibis_table() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "ordered_at": pd.to_datetime(["2026-01-31", "2026-02-01", "2026-01-10"]),
            "amount": [100.0, 300.0, 100.0],
            "currency": ["USD"] * 3,
        }
    )
    table = cohort_table(Source(ibis.memtable(frame)).table("orders"), observation_end="2026-02-28")
    assert table[["age", "size", "customers", "revenue", "ltv"]].to_dict(orient="records") == [
        {"age": 0, "size": 2, "customers": 2, "revenue": 200.0, "ltv": 100.0},
        {"age": 1, "size": 2, "customers": 1, "revenue": 300.0, "ltv": 250.0},
    ]


def test_customer_summary_runs_on_the_mapped_source_without_pulling_rows(files: dict[str, Path]) -> None:
    with Source.open(str(files["cdnow"]), mapping=files["mapping"]) as source:
        summary = customer_summary(source.table("orders"), observation_end="1997-09-30")
        assert isinstance(summary, ibis.Table)  # an expression until executed where the data is
        assert summary.count().execute() == 2357


def test_a_csv_source_leaves_bad_values_out_with_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order id,customer,date,amount,cost\n"
        "1,a,2025-02-28 10:00,100,\n"
        "2,a,2025-02-30 10:00,200,\n"  # no such day
        "3,b,2025-03-01 10:00,ten,\n"  # text in an amount
        "4,b,2025-03-02 10:00,50,\n",  # the optional cost column is empty throughout
        encoding="utf-8",
    )
    with Source.open(str(path)) as source:
        account = source.account()
        orders = source.table("orders").execute()
        left = source.left_out()
    assert (account.rows, account.usable) == (4, 2)
    assert account.left_out == {"'2025-02-30 10:00' is not a valid date": 1, "'ten' is not an amount": 1}
    assert list(left["source_row"]) == [3, 4] and list(left["reason_column"]) == ["date", "amount"]
    assert sorted(orders["amount"]) == [50.0, 100.0] and orders["cost"].isna().all()


def test_check_on_the_demo_export_reports_its_bad_date(tmp_path: Path) -> None:
    from ltvkit.data.demo import generate

    orders, _ = generate(tmp_path, customers=200)
    result = runner.invoke(app, ["--source", str(orders), "check", "--json"])
    assert result.exit_code == 0, result.output
    account = json.loads(result.stdout)
    assert account["left_out"]["'2025-02-30 10:00:00' is not a valid date"] == 1
    assert account["rows"] == account["usable"] + account["merged"] + sum(account["left_out"].values())


def test_a_typed_table_with_an_all_empty_optional_text_column() -> None:
    frame = pd.DataFrame(
        {
            "customer": ["a", "b"],
            "date": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "amount": [10.0, 20.0],
            "cost": pd.Series([None, None], dtype=object),  # read as text, all empty
        }
    )
    source = Source(ibis.memtable(frame), currency="USD")
    assert source.account().usable == 2 and source.account().left_out == {}


def test_the_note_counts_rows_only_where_counting_is_cheap(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount\na,2026-01-05,10\nb,2026-01-06,oops\n", encoding="utf-8")
    with Source.open(str(path)) as source:  # a file: its rows are in this process
        assert source.note() == "1 of 2 rows of " + str(path) + " are left out: 1 'oops' is not an amount"
    frame = pd.DataFrame(
        {"customer": ["a", None], "date": pd.to_datetime(["2026-01-05"] * 2), "amount": [1.0, 2.0]}
    )
    frame.to_parquet(tmp_path / "orders.parquet")
    with Source.open(str(tmp_path / "orders.parquet")) as source:  # a table: no scan just for a note
        assert source.note() is None and source._account is None
        assert source.account().left_out == {"no customer id, email or phone": 1}
        assert source.note() == "1 of 2 rows of " + str(tmp_path / "orders.parquet") + " are left out: " + (
            "1 no customer id, email or phone"
        )


def test_spend_rows_without_a_channel_are_unattributed_not_dropped() -> None:
    orders = pd.DataFrame({"customer": ["a"], "date": pd.to_datetime(["2026-01-05"]), "amount": [10.0]})
    spend = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"]),
            "channel": ["ads", None, None],
            "spend": [100.0, 30.0, 20.0],
        }
    )
    source = Source(ibis.memtable(orders), spend=ibis.memtable(spend), currency="USD")
    got = source.table("spend").execute().sort_values(["date", "channel"])
    assert list(got["channel"]) == ["(unattributed)", "ads", "(unattributed)"]
    assert list(got["amount"]) == [30.0, 100.0, 20.0] and set(got["currency"]) == {"USD"}
