"""The coding commands: code, train, evaluate, agreement and themes (they parse arguments, the library works)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from survey_tui.cli.common import Failure, open_store, user_errors
from survey_tui.resources import STAFF_QUESTIONNAIRE


def _progress(report: Any) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r  coded {report.answers:,} answers ({report.per_second:,.0f}/s)", err=True, nl=False)


def _coder(model: str | None, rules_only: bool) -> Any:
    from coding.codebook import load_codebook
    from coding.coder import Coder, default_coder

    if rules_only:
        return Coder(load_codebook())
    return default_coder(
        notify=lambda message: click.echo(message, err=True), model_path=Path(model) if model else None
    )


@click.command("code")
@click.argument("source", required=False, type=click.Path(dir_okay=False))
@click.option("--text-column", help="Column holding the answer text (with SOURCE).")
@click.option("--id-column", help="Column identifying each answer (default: row number).")
@click.option("--competitor-column", help="Column with the competitor already chosen (e.g. from q1).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="CSV to write (with SOURCE).")
@click.option("--model", type=click.Path(dir_okay=False), help="A model file made by `churn-survey train`.")
@click.option("--rules-only", is_flag=True, help="Code with the codebook's rules alone, no model.")
@click.option("--recode", is_flag=True, help="With the store: redo automatic codes too (human codes stay).")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to code with [one per core]; 1 codes in this process alone.",
)
@click.pass_context
@user_errors
def code(
    ctx: click.Context,
    source: str | None,
    text_column: str | None,
    id_column: str | None,
    competitor_column: str | None,
    output: str | None,
    model: str | None,
    rules_only: bool,
    recode: bool,
    processes: int | None,
) -> None:
    """Code answers into the ten churn reasons and the competitor.

    With SOURCE (CSV in UTF-8/GBK or XLSX) the result goes to --output as CSV with the columns
    id, text, reasons, primary_reason, competitor, confidence, needs_review, reason_<id>...
    Without SOURCE the stored answers of the store (--db) are coded and the codes stored.
    """
    coder = _coder(model, rules_only)
    if source is None:
        from survey_tui.research.coding import code_store

        if text_column or output:
            raise click.UsageError("--text-column and --output go with a SOURCE file")
        store = open_store(ctx)
        stored = code_store(store, coder, recode=recode, processes=processes)
        click.echo(
            f"coded {stored.coded} stored answer(s) with {coder.version}; {stored.needs_review} need review"
            + (f"; {stored.skipped_empty} without text left uncoded" if stored.skipped_empty else "")
        )
        return
    if not text_column or not output:
        raise click.UsageError("coding a file needs --text-column and --output")
    from coding.jobs import code_file

    report = code_file(
        coder,
        source,
        output,
        text_column=text_column,
        id_column=id_column,
        competitor_column=competitor_column,
        progress=_progress,
        processes=processes,
    )
    if sys.stderr.isatty():
        click.echo("", err=True)
    click.echo(
        f"coded {report.answers:,} answers in {report.seconds:.1f} s ({report.per_second:,.0f}/s) with "
        f"{coder.version}; {report.needs_review:,} need review; wrote {output}"
    )


@click.command()
@click.option(
    "--add",
    "added",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A CSV or XLSX of hand-coded answers (columns text, reasons, optional competitor); repeat for several.",
)
@click.option(
    "--added-weight",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="How much one added or stored human code weighs against one corpus answer [10].",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Where to save the model [the user's cache, used by `code` from then on].",
)
@click.option("--no-store", is_flag=True, help="Leave out the human codes of the store (--db).")
@click.pass_context
@user_errors
def train(
    ctx: click.Context, added: tuple[str, ...], added_weight: float | None, output: str | None, no_store: bool
) -> None:
    """Train the reason model on the corpora's train parts, the hand-coded files of --add and every
    human code in the store; the output of `code`, corrected in Excel, can be added as it is.

    Added and stored codes weigh more than corpus answers, so that a few hundred of them move the
    model toward the answers they come from. A file with an unknown id is refused, naming its row,
    and nothing is trained or written.
    """
    import time

    import pandas as pd

    from coding import model as reason_model
    from coding.codebook import load_codebook
    from coding.coder import ADDED_WEIGHT, train_model, user_model_path
    from coding.corpus import read_coded_answers

    path = Path(output) if output else user_model_path()
    if path.is_dir():
        raise Failure(f"{path}: is a folder; give the model file's name")
    files = [read_coded_answers(file) for file in added]
    stored = None
    if not no_store:
        from survey_tui.research.coding import human_training_rows

        stored = human_training_rows(open_store(ctx))
    parts = [*files, *([stored] if stored is not None and len(stored) else [])]
    extra = pd.concat(parts, ignore_index=True) if parts else None
    started = time.perf_counter()
    trained = train_model(
        load_codebook(),
        extra,
        added_weight=added_weight or ADDED_WEIGHT,
        progress=lambda message: click.echo(f"  {message}", err=True),
    )
    seconds = time.perf_counter() - started
    reason_model.save(trained, path)
    sources = trained.info["sources"]
    from_files = ", ".join(f"{len(frame)} from {file}" for frame, file in zip(files, added, strict=True))
    click.echo(
        f"trained {trained.version} in {seconds:.1f} s on {sources['corpus_train']:,} corpus answers"
        + (f", {from_files}" if from_files else "")
        + (f", {len(stored)} human codes of the store" if stored is not None else "")
        + f"; review below confidence {trained.review_threshold:.3f}"
    )
    click.echo(f"saved {path}")


@click.command()
@click.argument("gold", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--protocol",
    type=click.Choice(["leave-one-writer-out", "short-to-long", "long-to-short"]),
    help="Train without each held-out part of GOLD [the shipped corpora] and score that part.",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--reasons-column", default="reasons", show_default=True, help="`;`-joined reason ids.")
@click.option("--competitor-column", default=None, help="Gold competitor ids, if the file has them.")
@click.option("--split", "split_name", default=None, help="Keep only rows whose `split` column has this value.")
@click.option("--model", type=click.Path(dir_okay=False), help="A model file made by `churn-survey train`.")
@click.option("--rules-only", is_flag=True, help="Evaluate the codebook's rules alone.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@user_errors
def evaluate(
    gold: str | None,
    protocol: str | None,
    text_column: str,
    reasons_column: str,
    competitor_column: str | None,
    split_name: str | None,
    model: str | None,
    rules_only: bool,
    as_json: bool,
) -> None:
    """Precision, recall and F1 per reason, micro and macro F1, exact match, competitor accuracy,
    the share of answers coded automatically and how many of those are exactly right.

    With --protocol, a coder is trained for each held-out part without it and scored on it:
    leave-one-writer-out (GOLD needs a `part` column naming each answer's writer or source),
    short-to-long (trained on answers of at most 80 characters, scored on the longer) or
    long-to-short. Nothing is tuned on the part scored. Without GOLD, the shipped corpora.
    """
    if protocol is not None:
        _evaluate_protocol(gold, protocol, text_column, reasons_column, competitor_column, split_name, as_json)
        return
    if gold is None:
        raise click.UsageError("give a GOLD file, or --protocol to evaluate on the shipped corpora")
    from coding.evaluation import score

    frame = _gold_frame(gold, text_column, reasons_column, competitor_column, split_name, [])
    coder = _coder(model, rules_only)
    result = score(coder, frame)
    if as_json:
        click.echo(json.dumps({"model": coder.version, **result.as_dict()}, ensure_ascii=False, indent=2))
        return
    table = result.per_category.copy()
    click.echo(f"{result.items} answers, coded with {coder.version}")
    click.echo(table.to_string(float_format=lambda value: f"{value:.3f}"))
    click.echo(f"micro-F1 {result.micro_f1:.3f}  macro-F1 {result.macro_f1:.3f}  exact match {result.exact_match:.3f}")
    if result.competitor_accuracy is not None:
        click.echo(f"competitor accuracy {result.competitor_accuracy:.3f}")
    if result.automatic_share is not None:
        right = f"{result.automatic_exact:.1%}" if result.automatic_exact is not None else "-"
        click.echo(f"coded automatically (needs_review false): {result.automatic_share:.1%}, exactly right {right}")
    for level, share in result.coverage_at_precision.items():
        click.echo(f"coded automatically at {level:.0%} precision: {share:.1%} of answers")


def _gold_frame(
    gold: str,
    text_column: str,
    reasons_column: str,
    competitor_column: str | None,
    split_name: str | None,
    more: list[str],
) -> Any:
    """A gold file as the evaluation reads it: text, reasons (sets), competitor when given."""
    import pandas as pd

    from coding.corpus import parse_reasons
    from coding.tables import read_chunks

    columns = [text_column, reasons_column] + ([competitor_column] if competitor_column else []) + more
    if split_name:
        columns.append("split")
    frame = pd.concat(list(read_chunks(gold, columns)), ignore_index=True)
    if split_name:
        frame = frame[frame["split"] == split_name].reset_index(drop=True)
    if frame.empty:
        raise Failure(f"{gold}: no answers" + (f" in the split {split_name!r}" if split_name else ""))
    reasons = []
    for row, value in enumerate(frame[reasons_column], start=2):
        try:
            reasons.append(parse_reasons(value))
        except ValueError as error:
            raise Failure(f"{gold}: row {row}: {error}") from error
    renamed = {text_column: "text", **({competitor_column: "competitor"} if competitor_column else {})}
    return frame.rename(columns=renamed).assign(reasons=reasons)


def _evaluate_protocol(
    gold: str | None,
    protocol: str,
    text_column: str,
    reasons_column: str,
    competitor_column: str | None,
    split_name: str | None,
    as_json: bool,
) -> None:
    from coding.codebook import load_codebook
    from coding.corpus import load_corpus
    from coding.evaluation import fold_table, pooled, run_protocol

    more = ["part"] if protocol == "leave-one-writer-out" else []
    if gold is None:
        corpus = load_corpus(split=split_name)
    else:
        corpus = _gold_frame(gold, text_column, reasons_column, competitor_column, split_name, more)
        if "competitor" not in corpus.columns:
            corpus["competitor"] = "unknown"
    folds = run_protocol(corpus, load_codebook(), protocol, progress=lambda line: click.echo(f"  {line}", err=True))
    if not folds:
        raise Failure("nothing to evaluate: every fold of the protocol was empty")
    table = fold_table(folds)
    overall = pooled(folds)
    if as_json:
        payload = {"protocol": protocol, "folds": table.to_dict("records"), "pooled": overall}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=float))
        return
    click.echo(f"{protocol}: {int(overall['items']):,} answers, each scored by a coder trained without its part")
    click.echo(table.to_string(index=False, float_format=lambda value: f"{value:.3f}", na_rep="-"))
    click.echo(
        f"pooled: micro-F1 {overall['micro_f1']:.3f}  macro-F1 {overall['macro_f1']:.3f}  "
        f"exact match {overall['exact_match']:.3f}  competitor accuracy {overall['competitor_accuracy']:.3f}  "
        f"coded automatically {overall['automatic_share']:.1%}"
    )


@click.command("agreement")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--coders", nargs=2, metavar="A B", help="Two coders of the store (`auto` is the model).")
@click.option("--id-column", default="id", show_default=True)
@click.option("--reasons-column", default="reasons", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
@user_errors
def agreement_command(
    ctx: click.Context,
    files: tuple[str, ...],
    coders: tuple[str, str] | None,
    id_column: str,
    reasons_column: str,
    as_json: bool,
) -> None:
    """Cohen's kappa per reason and overall, and Krippendorff's alpha, between two coders:
    two coded files (FILE_A FILE_B, matched on --id-column) or two coders of the store (--coders)."""
    if coders:
        from survey_tui.research.coding import store_agreement

        report = store_agreement(open_store(ctx), *coders)
        names = coders
    elif len(files) == 2:
        report = _file_agreement(files, id_column, reasons_column)
        names = files
    else:
        raise click.UsageError("give two coded files, or --coders A B")
    if as_json:
        payload = {
            "coders": list(names),
            "items": report.items,
            "per_category": report.per_category,
            "overall_kappa": report.overall_kappa,
            "alpha": report.alpha,
            "exact_agreement": report.exact_agreement,
            "competitor_kappa": report.competitor_kappa,
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(f"{report.items} answers coded by both {names[0]} and {names[1]}")
    click.echo(report.to_frame().to_string(index=False, float_format=lambda value: f"{value:.3f}"))


def _file_agreement(files: tuple[str, ...], id_column: str, reasons_column: str) -> Any:
    import pandas as pd

    from coding.agreement import agreement
    from coding.corpus import parse_reasons
    from coding.tables import read_chunks

    sides = []
    for file in files:
        frame = pd.concat(list(read_chunks(file, [id_column, reasons_column])), ignore_index=True)
        try:
            sides.append({row[id_column]: parse_reasons(row[reasons_column]) for _, row in frame.iterrows()})
        except ValueError as error:
            raise Failure(f"{file}: {error}") from error
    return agreement(sides[0], sides[1])


@click.command()
@click.argument("source", required=False, type=click.Path(dir_okay=False))
@click.option("--text-column", help="Column holding the answer text (with SOURCE).")
@click.option("--question-column", help="Column naming the question of each answer (with SOURCE).")
@click.option("--top", type=click.IntRange(min=1), default=15, show_default=True, help="Terms per question.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@user_errors
def themes(
    ctx: click.Context,
    source: str | None,
    text_column: str | None,
    question_column: str | None,
    top: int,
    fmt: str,
) -> None:
    """Staff interviews: top terms and phrases (TF-IDF) per question and overall, and how many
    answers touch each theme of data/themes.yaml. Without SOURCE, the staff interviews in the store."""
    import pandas as pd

    from coding.tables import read_chunks
    from coding.themes import theme_summary, top_terms

    if source is None:
        from survey_tui.research.coding import theme_texts

        answers = theme_texts(open_store(ctx), STAFF_QUESTIONNAIRE)
    else:
        if not text_column:
            raise click.UsageError("a SOURCE file needs --text-column")
        columns = [text_column] + ([question_column] if question_column else [])
        frame = pd.concat(list(read_chunks(source, columns)), ignore_index=True)
        if question_column:
            answers = {str(q): group[text_column].tolist() for q, group in frame.groupby(question_column, sort=False)}
        else:
            answers = {"answers": frame[text_column].tolist()}
    everything = [text for texts in answers.values() for text in texts]
    terms = {question: top_terms(texts, top) for question, texts in [*answers.items(), ("all", everything)]}
    summary = theme_summary(answers)
    if fmt == "json":
        payload = {
            "terms": {q: table.to_dict("records") for q, table in terms.items()},
            "themes": summary.to_dict("records"),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=int))
        return
    for question, table in terms.items():
        click.echo(f"\n{question}: {len(answers.get(question, everything))} answers, top terms")
        click.echo(table.to_string(index=False) if len(table) else "  (no text)")
    click.echo("\nthemes")
    click.echo(summary.to_string(index=False))


COMMANDS = (code, train, evaluate, agreement_command, themes)
