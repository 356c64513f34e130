from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import ltvkit
from conftest import FIXTURES
from ltvkit import cli, i18n
from ltvkit.analytics.historical import ltv_summary
from ltvkit.cli import app
from ltvkit.data import demo
from ltvkit.data.workspace import Workspace

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.out, "width", 200)


def strict_json(text: str) -> object:
    """JSON as a strict parser reads it: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def ltv(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_json_accounts_for_rows_and_reimport_is_a_duplicate(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    code, out, _ = ltv("import", str(FIXTURES / "getcourse_orders.csv"), "--workspace", ws, "--json")
    assert code == 0
    account = json.loads(out)
    assert {k: account[k] for k in ("read", "loaded", "duplicates", "rejected")} == {
        "read": 10,
        "loaded": 7,
        "duplicates": 0,
        "rejected": 3,  # a bad date, an unknown status and a false order («Ложный»)
    }
    code, out, _ = ltv("import", str(FIXTURES / "getcourse_orders.csv"), "-w", ws, "--json")
    assert json.loads(out)["duplicates"] == 7


def test_import_table_output_points_to_the_rejected_rows(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    code, out, _ = ltv("import", str(FIXTURES / "generic_uk.csv"), "-w", ws)
    assert code == 0
    assert "rejected" in out and "ltv rejected --import 1" in out
    code, out, _ = ltv("rejected", "-w", ws)
    assert "no customer id, email or phone" in out and "'abc' is not an amount" in out
    code, out, _ = ltv("rejected", "-w", ws, "--json")
    data = json.loads(out)
    assert data["rejected"] == 2 and data["rows"][1]["row_number"] == 7


def test_an_import_rejected_whole_is_one_sentence_in_the_users_language(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order id,customer,date,amount\n1,a,2026-01-05,x\n2,b,2026-01-06,y\n", encoding="utf-8")
    code, _, err = ltv("--lang", "uk", "import", str(path), "-w", str(tmp_path / "w.duckdb"))
    assert code == 1
    assert " ".join(err.split()).endswith(
        "orders.csv: усі рядки відхилено з однієї причини у стовпці «amount» (рядок 2: 'x' — не сума); "
        "нічого не імпортовано"
    )


def test_several_files_in_one_command(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    code, out, _ = ltv(
        "import", str(FIXTURES / "stripe_payments.csv"), str(FIXTURES / "spend.csv"), "-w", ws, "--json"
    )
    assert code == 0
    assert [a["kind"] for a in json.loads(out)] == ["orders", "spend"]


def test_summary_json_gives_net_revenue_per_currency(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    ltv("import", str(FIXTURES / "stripe_payments.csv"), str(FIXTURES / "woocommerce_orders.csv"), "-w", ws)
    code, out, _ = ltv("summary", "-w", ws, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["net_revenue"] == {"EUR": 90.0, "UAH": 12950.0, "USD": 998.0}
    # Stripe: cus_Q1aaa, cus_Q1bbb (partly refunded), hans (the refunded and the failed charge are not
    # purchases); WooCommerce: 17, 18 and the guest iryna@
    assert data["customers"] == 3 + 3
    code, out, _ = ltv("summary", "-w", ws)
    assert "UAH" in out and "12,950.00" in out


def test_imports_ledger(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    ltv("import", str(FIXTURES / "spend.csv"), "-w", ws)
    code, out, _ = ltv("imports", "-w", ws, "--json")
    ledger = json.loads(out)
    assert ledger[0]["file_name"] == "spend.csv" and ledger[0]["rejected"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.csv"], "missing.csv: file not found"),
        (["import", str(FIXTURES / "generic_en.tsv"), "--preset", "nope"], "unknown preset 'nope'"),
        (["import", str(FIXTURES / "generic_en.tsv"), "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["summary"], "import a file first"),
    ],
)
def test_errors_are_one_clear_line_and_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    code, out, err = ltv(*args, "-w", str(tmp_path / "w.duckdb"))
    assert code == 1
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_bad_option_values_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = ltv(
        "import", str(FIXTURES / "generic_en.tsv"), "--decimal", ";", "-w", str(tmp_path / "w.duckdb")
    )
    assert code == 2 and "--decimal" in err


def test_every_command_has_help() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, f"ltv {name} has no help"


def test_analytics_commands_write_files(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    ltv("import", str(FIXTURES / "analytics_orders.csv"), "--currency", "USD", "-w", ws)
    ltv("import", str(FIXTURES / "analytics_spend.csv"), "-w", ws)
    code, out, _ = ltv("summary", "-w", ws, "--json")
    assert code == 0 and json.loads(out)["ltv"][0]["ltv_mean"] == 262.5
    code, out, _ = ltv("summary", "-w", ws)
    text = " ".join(out.split())
    assert "Expected LTV (USD) = AOV × purchases a year while active × expected lifetime" in text
    assert "Revenue per customer so far: 262" in text and "Too little data for the models" in text
    # hand-computed from the fixture: net revenue a 550, b 100, c 300, e 100 (d refunded, f cancelled)
    checks = {
        "cohorts": (
            "ltv",
            lambda t: t[(t["cohort"].astype(str).str[:7] == "2026-01") & (t["age"] == 2)],
            325.0,
        ),
        "channels": ("ltv_to_date", lambda t: t[t["channel"] == "ads"], 425.0),
        "cac": ("cac", lambda t: t[t["channel"] == "ads"], 400.0),
        "pareto": ("revenue_share", lambda t: t[t["top_share"] == 0.2], 550 / 1050),
    }
    for command, (column, pick, expected) in checks.items():
        extra = ["--metric", "ltv"] if command == "cohorts" else []
        target = tmp_path / f"{command}.xlsx"
        code, _, err = ltv(command, *extra, "-w", ws, "--out", str(target))
        assert code == 0, err
        from_xlsx = pd.read_excel(target)
        code, out, _ = ltv(command, *extra, "-w", ws, "--format", "json")
        assert code == 0
        from_json = pd.DataFrame(strict_json(out))
        assert list(from_xlsx.columns) == list(from_json.columns) and len(from_xlsx) == len(from_json)
        for table in (from_xlsx, from_json):
            assert pick(table)[column].tolist() == [pytest.approx(expected)], (command, table)
        code, out, _ = ltv(command, *extra, "-w", ws)
        assert code == 0 and out.strip()


def test_cac_without_spend_says_what_to_do(tmp_path: Path) -> None:
    ws = str(tmp_path / "w.duckdb")
    ltv("import", str(FIXTURES / "analytics_orders.csv"), "--currency", "USD", "-w", ws)
    code, _, err = ltv("cac", "-w", ws)
    assert code == 1 and "import a spend file first" in " ".join(err.split())


def test_every_command_on_a_demo_school(tmp_path: Path) -> None:
    from ltvkit.data import demo

    orders, spend = demo.generate(tmp_path, seed=3, customers=1500)
    ws = str(tmp_path / "w.duckdb")
    assert ltv("import", str(orders), str(spend), "-w", ws)[0] == 0
    commands = [
        ["summary"],
        ["cohorts"],
        ["cohorts", "--by", "week", "--metric", "revenue"],
        ["cohorts", "--split", "first_product", "--metric", "ltv"],
        ["channels"],
        ["channels", "--paths"],
        ["channels", "--by", "utm_source"],
        ["cac"],
        ["cac", "--monthly"],
        ["pareto"],
        ["fit", "--model", "sbg", "--unit", "month", "--product", "Analysts' Club (monthly)"],
        ["fit", "--model", "bgbb", "--unit", "month"],
    ]
    for args in commands:
        code, out, err = ltv(*args, "-w", ws)
        assert code == 0 and out.strip(), (args, err)
    with Workspace.open(ws, read_only=True) as opened:
        summary = ltv_summary(opened.table("orders"))
    for lang in ("en", "ru", "uk"):
        code, _, err = ltv("report", "--lang", lang, "--out", str(tmp_path / f"r_{lang}.html"), "-w", ws)
        assert code == 0, err
        html = (tmp_path / f"r_{lang}.html").read_text(encoding="utf-8")
        assert i18n.text("title", lang) in html and i18n.money(summary.ltv_mean, "RUB", lang) in html


def test_the_command_line_starts_without_the_analytics_stack() -> None:
    """``ltv --help`` and ``ltv --version`` load no pandas, NumPy, Ibis, DuckDB or SciPy: each command imports
    what it uses."""
    import subprocess
    import sys

    heavy = ("pandas", "numpy", "ibis", "duckdb", "scipy", "pyarrow")
    probe = f"import sys, ltvkit.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"ltvkit {ltvkit.__version__}"


def test_hostile_values_print_as_text_and_errors_as_one_sentence(tmp_path: Path) -> None:
    """Names carrying Rich markup print as they are; rows with too many or too few fields and numbers in the
    rejected-value column fit the table; a full disk is one sentence, never a traceback."""
    orders = tmp_path / "markup.csv"
    orders.write_text(
        "order id,customer,date,amount,status,channel,product\n"
        "1,[/red],2026-01-31,100,paid,[link=http://x]ads,[bold]Course[/bold]\n"
        "2,b,2026-02-01,xx,paid,ads,Course\n"
        "3,c,2026-02-01,12,paid,ads,Course,extra\n"
        "4,d\n",
        encoding="utf-8",
    )
    ws = str(tmp_path / "w.duckdb")
    assert ltv("import", str(orders), "--currency", "USD", "-w", ws)[0] == 0
    for args in (["rejected"], ["summary"], ["channels"], ["segments"], ["imports"]):
        code, out, err = ltv(*args, "-w", ws)
        assert code == 0 and "Traceback" not in out + err, (args, err)
    code, out, _ = ltv("channels", "-w", ws)
    assert "[link=http://x]ads" in out
    code, out, _ = ltv("rejected", "-w", ws)
    assert "'xx' is not an amount" in " ".join(out.split())
    if Path("/dev/full").exists():
        code, _, err = ltv("pareto", "-w", ws, "--out", "/dev/full", "--format", "csv")
        assert code == 1 and "No space left on device" in err and "Traceback" not in err


def test_every_command_that_prints_a_table_has_json() -> None:
    import typer.main

    def leaves(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
        found = []
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                found += leaves(command, f"{prefix}{name} ")
            else:
                found.append((prefix + name, command))
        return found

    without = [
        name
        for name, command in leaves(typer.main.get_command(app))
        if "--json" not in {o for p in command.params for o in getattr(p, "opts", [])}
    ]
    assert sorted(without) == ["demo", "report", "serve", "workbook"]  # they write files or run a server


def test_the_public_names_are_complete_and_load() -> None:
    """Every ``ltvkit.Name`` the README and the docs use is in ``ltvkit.__all__``, and every name there loads
    (lazily) to the object of that name."""
    import re

    root = Path(ltvkit.__file__).parents[2]
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    used = {m for t in texts for m in re.findall(r"\bltvkit\.([A-Z]\w+)", t.read_text(encoding="utf-8"))}
    assert used and used <= set(ltvkit.__all__)
    for name in ltvkit.__all__:
        assert getattr(ltvkit, name).__name__ == name
    with pytest.raises(AttributeError):
        ltvkit.NoSuchThing  # noqa: B018


def test_the_edges_compose_nothing_below_the_service_layer() -> None:
    """The CLI, the web API and the report call ltvkit.service for every figure: none of them imports the
    analytics, the predictions, the models, the what-if or the retainer code (the report module only
    renders)."""
    import re

    root = Path(ltvkit.__file__).parent
    below = re.compile(r"from ltvkit\.(analytics|predict|whatif|models|retainer)\b")
    for edge in ("cli.py", "web/api.py", "web/app.py", "report/build.py"):
        assert below.findall((root / edge).read_text(encoding="utf-8")) == [], edge


def test_segments_and_scenario_commands(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from ltvkit.cli import app

    runner = CliRunner()
    path = str(tmp_path / "ltv.duckdb")
    orders, spend = demo.generate(tmp_path, seed=12, customers=2000)
    assert runner.invoke(app, ["import", str(orders), str(spend), "-w", path]).exit_code == 0
    for scheme in ("rfm", "lifecycle", "value"):
        result = runner.invoke(
            app,
            [
                "segments",
                "--scheme",
                scheme,
                "-w",
                path,
                "--format",
                "json",
                "--export",
                str(tmp_path / scheme),
            ],
        )
        assert result.exit_code == 0, result.output
        assert sum(row["customers"] for row in json.loads(result.stdout)) > 1800
    result = runner.invoke(app, ["segments", "--scheme", "lifecycle", "--model", "-w", path])
    assert result.exit_code == 0, result.output
    file = tmp_path / "scenarios.toml"
    file.write_text("[upsell]\naov_change = 0.4\n[follow-ups]\nfrequency_change = 0.1\n", encoding="utf-8")
    result = runner.invoke(
        app, ["scenario", "--file", str(file), "--margin", "0.6", "-w", path, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["scenario"] for r in rows] == ["baseline", "upsell", "follow-ups"]
    assert rows[1]["formula_ltv_change"] == pytest.approx(0.4) and rows[1][
        "model_ltv_change"
    ] == pytest.approx(0.4)
    assert rows[2]["formula_ltv_change"] > 0 and rows[2]["model_ltv_change"] > 0
    file.write_text("[half-price]\nprice = 495\nconversion = 0.2\nbuyers_change = 0.6\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "tripwire",
            "--product",
            demo.PRODUCTS["tripwire"][0],
            "--core",
            demo.PRODUCTS["core"][0],
            "--file",
            str(file),
            "-w",
            path,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    today, half = json.loads(result.stdout)
    assert half["price"] == 495 and half["conversion"] == 0.2 and 0.1 < today["conversion"] < 0.5


def test_predict_says_why_one_time_buyers_show_as_alive(tmp_path: Path) -> None:
    """BG/NBD's P(alive) of a customer without a repeat purchase is 1 by construction: the table says so."""
    from tests.test_hostile_input import degenerate_orders

    path, ws = tmp_path / "orders.csv", str(tmp_path / "w.duckdb")
    path.write_text(degenerate_orders("one_each"), encoding="utf-8")
    assert ltv("import", str(path), "-w", ws)[0] == 0
    code, out, err = ltv("--lang", "uk", "predict", "-w", ws, "--out", str(tmp_path / "p.csv"))
    assert code == 0 and "100,0" in out
    assert i18n.text("cli_one_time_buyers_alive", "uk")[:40] in " ".join(err.split())
    code, out, err = ltv("predict", "--model", "mbgnbd", "-w", ws, "--out", str(tmp_path / "p.csv"))
    assert code == 0 and "BG/NBD lets a customer leave" not in err
