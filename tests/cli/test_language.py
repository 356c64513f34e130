"""Every command in Russian and Ukrainian says nothing in English: no English word and no snake_case
identifier outside the names from the user's data, the commands and options one types, abbreviations and
parameter names (the word test of the browser tests, :mod:`web.visible_text`). And the progress the core
reports reaches the terminal's display through one helper, and nothing else."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import FIXTURES
from ltvkit import cli, i18n, progress
from ltvkit.choices import FORMATS, METRICS, MODELS, SCHEMES, SPLITS, TimeUnit
from ltvkit.cli import app
from ltvkit.data import demo
from ltvkit.io.presets import PRESETS
from web.visible_text import ALLOWED, LATIN, SNAKE

runner = CliRunner()

# besides the browser tests' words: model names and their parameters, error measures, the cohort axis
CLI_ALLOWED = ALLOWED | set("MBG BB sBG Pareto MAE RMSE UTC Email alpha beta gamma delta x".split())
COMMAND = re.compile(r"ltv(?: --?[a-z-]+(?: [^\s;)]+)?| [a-z]+)+")  # a command line to type, as it is typed
OPTION = re.compile(r"--[a-z][a-z-]*(?:=\S+)?")
ACRONYM = re.compile(r"\b[A-Z]{2,5}\b")  # currency codes and abbreviations (LTV, CAC, RUB)
PARAMETER = re.compile(r"(?<![\w'])[a-z](?![\w'])")  # r, a, b, s: a model's parameters


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A small demo school imported into a workspace, and every text of its exports (the user's data)."""
    folder = tmp_path_factory.mktemp("school")
    orders, spend = demo.generate(folder, seed=5, customers=700)
    ws = folder / "ltv.duckdb"
    result = runner.invoke(app, ["import", str(orders), str(spend), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    return ws, folder, _texts(orders, spend, FIXTURES / "generic_uk.csv")


def _texts(*files: Path) -> list[str]:
    """Every cell and header of ``files`` that holds a letter, longest first (so a name is taken out whole
    before a shorter one inside it)."""
    found: set[str] = set()
    for file in files:
        with file.open(encoding="utf-8-sig") as rows:
            dialect = csv.Sniffer().sniff(rows.readline())
            rows.seek(0)
            for row in csv.reader(rows, dialect):
                found.update(cell.strip() for cell in row if re.search(r"[A-Za-z]", cell))
    return sorted(found, key=len, reverse=True)


def english(text: str, user_data: list[str]) -> list[str]:
    """The English words and snake_case identifiers of ``text``, each with the text around it, once the
    user's data, the commands and options, abbreviations and parameter names are taken out. Runs of
    whitespace count as one space, so a name that a table's title wraps over two lines is still a name."""
    text = " ".join(text.split())
    for value in user_data:
        text = text.replace(" ".join(value.split()), " ")
    text = OPTION.sub(" ", COMMAND.sub(" ", text))
    text = PARAMETER.sub(" ", ACRONYM.sub(" ", text))
    found = [m for m in SNAKE.finditer(text)]
    found += [m for m in LATIN.finditer(text) if m.group().strip("'") not in CLI_ALLOWED]
    return [
        text[max(0, m.start() - 30) : m.end() + 30].strip() for m in sorted(found, key=lambda m: m.start())
    ]


def test_the_word_test_finds_english_and_identifiers_but_not_names_or_commands() -> None:
    names = ["telegram_ads", "Analysts' Club (monthly)"]
    assert english("Клиенты: 5; see ltv summary -w demo/ltv.duckdb", names) == ["Клиенты: 5; see"]
    assert english("repeat_rate 20 %", names) == ["repeat_rate 20 %"] * 3  # the identifier and its words
    clean = (
        "telegram_ads: CAC 10 398 ₽ (Analysts' Club (monthly)); ltv summary --currency USD; BG/NBD r = 0,5"
    )
    assert english(clean, names) == []


def commands(ws: Path, folder: Path) -> list[list[str]]:
    """One run of every command that reads a workspace (and the retainer's invoice, which reads none)."""
    core, tripwire = demo.PRODUCTS["core"][0], demo.PRODUCTS["tripwire"][0]
    scenarios = folder / "scenarios.toml"
    scenarios.write_text("[upsell]\naov_change = 0.4\n", encoding="utf-8")
    on = ["-w", str(ws)]
    return [
        ["import", str(FIXTURES / "generic_uk.csv"), "-w", str(folder / "other.duckdb")],
        ["imports", *on],
        ["rejected", "-w", str(folder / "other.duckdb")],
        ["rejected", *on],
        ["summary", *on],
        ["cohorts", *on],
        ["cohorts", "--metric", "ltv", "--split", "channel", *on],
        ["cohorts", "--split", "channel", "--compare", "telegram_ads", "organic", *on],
        ["channels", *on],
        ["channels", "--paths", *on],
        ["channels", "--predicted", *on],
        ["cac", *on],
        ["cac", "--monthly", *on],
        ["pareto", *on],
        ["fit", *on],
        ["predict", "--out", str(folder / "predictions.csv"), *on],
        ["compare", *on],
        ["segments", *on],
        ["segments", "--scheme", "lifecycle", "--model", *on],
        ["segments", "--scheme", "value", *on],
        ["followup", *on],
        ["scenario", "--file", str(scenarios), *on],
        ["tripwire", "--product", tripwire, "--core", core, "--price", "490", "--conversion", "0.2", *on],
        ["report", "--out", str(folder / "report.html"), *on],
        [
            "retainer",
            "invoice",
            "--fee",
            "1000",
            "--currency",
            "UAH",
            "--start",
            "2026-03-10",
            "--country",
            "UA",
        ],
    ]


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_every_command_speaks_the_language_asked(
    lang: str, school: tuple[Path, Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, folder, user_data = school
    monkeypatch.setattr(cli.out, "width", 1000)  # no cell wrapped: a name is taken out whole
    monkeypatch.setattr(cli.err, "width", 1000)
    # the user's own names besides the data: folders, files, a scenario, the export formats' names
    files = ["orders.csv", "spend.csv", "generic_uk.csv", "predictions.csv", "report.html"]
    user_data = sorted([*user_data, str(folder), *files, "upsell", *PRESETS], key=len, reverse=True)
    untranslated = {}
    for args in commands(ws, folder):
        result = runner.invoke(app, ["--lang", lang, *args])
        assert result.exit_code == 0, (args, result.output)
        found = english(result.stdout + result.stderr, user_data)
        if found:
            untranslated[" ".join(args[:3])] = found
    assert untranslated == {}


def test_an_error_is_in_the_language_asked(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--lang", "uk", "cohorts", "--metric", "ltv", "-w", str(tmp_path / "w.duckdb")]
    )
    assert result.exit_code == 1 and result.stderr.startswith(i18n.text("cli_error", "uk") + ":")


def test_the_core_reports_its_stages_through_the_callback(tmp_path: Path) -> None:
    """Stages, not times: the report's figures, then each language in turn."""
    from ltvkit.data.workspace import Workspace
    from ltvkit.service.report import build_reports

    seen: list[tuple[str, int, int]] = []
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        ws.import_file(FIXTURES / "analytics_orders.csv")
        with progress.reporting(lambda *stage: seen.append(stage)):
            build_reports(ws, {"en": tmp_path / "en.html", "ru": tmp_path / "ru.html"}, predictions=False)
        build_reports(ws, {"uk": tmp_path / "uk.html"}, predictions=False)  # outside: told to nobody
    assert seen == [("figures", 0, 0), ("render:en", 0, 2), ("render:ru", 1, 2)]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=100))
    yield screen


def test_the_progress_display_names_each_stage_in_the_language(terminal: io.StringIO) -> None:
    with cli._progress("ru"):
        show = progress.current()
        assert show is not None
        progress.step("fit:paretonbd", 1, 3)
        with cli._progress("ru"):  # a step inside a step goes on in the same display
            assert progress.current() is show
    assert "подгонка модели: Pareto/NBD" in terminal.getvalue()
    assert progress.current() is None


def test_no_progress_for_json_or_a_pipe(terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    with cli._progress("en", quiet=True):  # --json
        assert progress.current() is None
    monkeypatch.setattr(cli, "err", Console(file=io.StringIO(), force_terminal=False))
    with cli._progress("en"):
        assert progress.current() is None
    assert terminal.getvalue() == ""


def test_a_stage_reads_in_the_language() -> None:
    assert cli._stage("render:uk", "uk") == "звіт: uk"
    assert cli._stage("read:orders.csv", "en") == "reading: orders.csv"
    assert cli._stage("something_new", "ru") == "something_new"  # a stage without a text yet: its name


def test_a_model_note_is_english_text_that_knows_its_translations() -> None:
    """A weak-identification note stays the English string the JSON and the logs show, and the CLI, the
    report and the dashboard write it in their reader's language, numbers with the locale's decimal mark."""
    import pickle
    import warnings

    from ltvkit.errors import WeakIdentificationWarning, collect_notes
    from ltvkit.models import ParetoNBDModel

    model = ParetoNBDModel.from_params(r=1.3, alpha=47.25, s=5e4, beta=4.5e7)
    model.identification_ = type("I", (), {"weak": ("s", "beta")})()  # the state a fit on the ridge leaves
    with collect_notes() as notes:
        warnings.warn(model._weak_identification_note(), WeakIdentificationWarning, stacklevel=1)
    (note,) = notes
    assert note.startswith("Pareto/NBD: not enough data to estimate how long customers keep buying")
    assert "average lifetime of about 900 time units" in note
    russian = i18n.localized(note, "ru")
    assert russian.startswith("Pareto/NBD: недостаточно данных, чтобы оценить, как долго клиенты")
    assert "около 900 единиц" in russian and "s = 50000" in russian
    assert i18n.localized(pickle.loads(pickle.dumps(note)), "uk") == i18n.localized(note, "uk")
    assert i18n.localized("a plain note", "uk") == "a plain note"  # text without a key stays as it is


# what the help names as one types it besides the options' own: the values of options, the columns of the
# retainers' files, usage metavars, products and formats
HELP_VALUES = {
    *FORMATS,
    *METRICS,
    *MODELS,
    *SCHEMES,
    *SPLITS,
    *get_args(TimeUnit),
    *"ltvkit ics en ru uk auto none map orders spend table cohort predicted getcourse unisender".split(),
    *"client fee currency start end billing source date amount status".split(),
    *"OPTIONS COMMAND ARGS DuckDB Excel Google Sheets GetCourse Unisender SendPulse Shopify".split(),
    *"WooCommerce strftime".split(),
}


def _help_pages(command: Any, path: list[str]) -> Iterator[tuple[list[str], set[str]]]:
    """Every command and group under ``command`` with the words one types there: its options' names,
    defaults and environment variables, and the names of its subcommands."""
    typed = set()
    for p in command.params:
        typed.update(str(v) for v in [*p.opts, *p.secondary_opts, p.envvar, p.default] if v)
        typed.update(o.lstrip("-") for o in p.opts if o.startswith("--"))  # a flag's default: its name
    subcommands = getattr(command, "commands", {})
    yield path, typed | set(subcommands)
    for name, sub in subcommands.items():
        yield from _help_pages(sub, [*path, name])


@pytest.mark.parametrize(("lang", "locale"), [("ru", "ru_RU.UTF-8"), ("uk", "uk_UA.UTF-8")])
def test_the_help_of_every_command_is_in_the_language_of_lang(
    lang: str, locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ltv --help`` and every command's ``--help`` follow LANG: descriptions, option help and Typer's own
    words (panels, defaults, required); left in Latin letters: what one types (commands, options, their
    values and types), product and format names, URLs and date formats."""
    import typer

    monkeypatch.setenv("LANG", locale)
    monkeypatch.setenv("TERMINAL_WIDTH", "1000")  # Typer's own console: no name wrapped
    monkeypatch.delenv("LTV_LANG", raising=False)
    untranslated = {}
    for path, typed in _help_pages(typer.main.get_command(app), []):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, result.output
        # URLs, date formats, types (<path>), choices ([day|week|month]), then commands and options
        shown = re.sub(r"\S+://\S*|%\S+|<[^>]+>|\bno-[a-z-]+|(?<!\w)/[a-z]+|[\[\]{}()|]", " ", result.stdout)
        shown = OPTION.sub(" ", COMMAND.sub(" ", shown))
        found = english(shown, sorted([*typed, *HELP_VALUES, *PRESETS], key=len, reverse=True))
        if found:
            untranslated[" ".join(path)] = found
    assert untranslated == {}
    heading = i18n.text("clihelp_cmd_import", lang)
    assert heading in " ".join(runner.invoke(app, ["import", "--help"], terminal_width=1000).stdout.split())


def test_lang_before_help_chooses_the_help_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    result = runner.invoke(app, ["--lang", "uk", "--help"], terminal_width=1000)
    assert i18n.text("clihelp_app", "uk") in " ".join(result.stdout.split())
    monkeypatch.setenv("LANG", "C.UTF-8")
    result = runner.invoke(app, ["fit", "--help"], terminal_width=1000)
    assert i18n.text("clihelp_cmd_fit", "en") in " ".join(result.stdout.split())
    assert "Options" in result.stdout and "Usage:" in result.stdout


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_the_errors_a_new_user_meets_are_in_the_language(
    lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No workspace yet, a wrong path, an empty file, an unknown preset, nothing imported, a currency the data
    do not have, one day of purchases: each error names what and what to do in the reader's language."""
    monkeypatch.setattr(cli.err, "width", 1000)
    empty, ws, one_day = tmp_path / "empty.csv", tmp_path / "w.duckdb", tmp_path / "one.duckdb"
    empty.write_text("", encoding="utf-8")
    day = tmp_path / "day.csv"
    day.write_text("order id,customer,date,amount,currency\n1,a,2026-01-05,10,RUB\n2,b,2026-01-05,20,RUB\n")
    assert runner.invoke(app, ["import", str(day), "-w", str(one_day)]).exit_code == 0
    orders = str(FIXTURES / "analytics_orders.csv")
    names = [str(tmp_path / "none.duckdb"), str(tmp_path), "empty.csv", "gone.csv", "foo", *PRESETS]
    names.sort(key=len, reverse=True)
    cases = [
        (
            ["summary", "-w", str(tmp_path / "none.duckdb")],
            "error_no_workspace",
            {"path": tmp_path / "none.duckdb"},
        ),
        (["import", str(tmp_path / "gone.csv"), "-w", str(ws)], "error_hint_check_path", {}),
        (["import", str(empty), "-w", str(ws)], "error_hint_export_again", {}),
        (["import", orders, "--preset", "foo", "-w", str(ws)], "error_unknown_preset", {"name": "'foo'"}),
        (["fit", "-w", str(ws)], "error_no_purchases", {}),
        (
            ["cohorts", "--currency", "USD", "-w", str(one_day)],
            "error_no_purchases_in",
            {"chosen": "USD", "codes": "RUB"},
        ),
        (["predict", "-w", str(one_day)], "error_one_day_predict", {"day": "2026-01-05"}),
    ]
    for args, key, values in cases:
        result = runner.invoke(app, ["--lang", lang, *args])
        shown = " ".join(result.stderr.split())
        assert result.exit_code == 1 and i18n.Note(key, **values).text(lang) in shown, (args, shown)
        assert english(shown, names) == [], (args, shown)


def test_an_error_with_texts_stays_english_as_a_string_and_crosses_processes() -> None:
    import pickle

    from ltvkit.errors import FileFormatError, WorkspaceError

    error = FileFormatError(
        i18n.Note("error_file_empty"),
        file="a.csv",
        row=3,
        column="date",
        hint=i18n.Note("error_hint_export_again"),
    )
    assert str(error) == "a.csv, row 3, column 'date': the file is empty — export the data again"
    assert error.localized("ru") == "a.csv, строка 3, столбец 'date': файл пустой — выгрузите данные заново"
    copy = pickle.loads(pickle.dumps(error))
    assert copy.localizable and copy.localized("uk") == error.localized("uk")
    plain = WorkspaceError("something else")
    assert not plain.localizable and plain.localized("uk") == "something else"


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_a_file_without_a_needed_column_is_explained_in_the_language(
    lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error known by its pattern (as the dashboard reads it) is written in the reader's language too."""
    monkeypatch.setattr(cli.err, "width", 1000)
    path = tmp_path / "nodate.csv"
    path.write_text("customer,amount\na,10\n", encoding="utf-8")
    result = runner.invoke(app, ["--lang", lang, "import", str(path), "-w", str(tmp_path / "w.duckdb")])
    shown = " ".join(result.stderr.split())
    field = i18n.text("data_field_ordered_at", lang)
    start = {
        "ru": f"В файле {path} нет столбца «{field}»",
        "uk": f"У файлі {path} немає стовпця «{field}»",
    }
    assert result.exit_code == 1 and start[lang] in shown and "customer, amount" in shown, shown
    assert "no column for" not in shown
