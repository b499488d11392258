"""`lmstudio-app pretrain`: continue masked-LM (+ NSP) pre-training on your own text; writes a loadable HF folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lmstudio_app.commands._common import (
    MAX_SEED,
    first_ctrl_c_stops,
    real_number,
    whole_number,
)
from lmstudio_app.commands._events import add_events_argument, reported, reports_events, training_progress
from lmstudio_app.commands._saved import add_settings_argument, run_saved, saved_run
from lmstudio_app.commands._training import (
    add_processes_argument,
    launch_ranks,
    recorded_command,
    wants_ranks,
)
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM

NAME = "pretrain"
HELP = "continue masked-LM (+ next-sentence) pre-training of a model on your own text"
FIGURES = (
    ("eval_mlm_top1", "top-1", "{:.1%}"),
    ("eval_mlm_top5", "top-5", "{:.1%}"),
    ("eval_perplexity", "perplexity", "{:.2f}"),
    ("eval_nsp_accuracy", "NSP accuracy", "{:.1%}"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    text = parser.add_mutually_exclusive_group()  # one of them, unless --settings or --resume says the text
    text.add_argument("--text", nargs="+", metavar="FILE_OR_DIR", help="text files or folders of them")
    text.add_argument("--csv", help="a table (CSV, TSV, JSONL or XLSX) whose --text-column holds the text")
    parser.add_argument("--text-column", help="the table's column with the text (with --csv)")
    parser.add_argument(
        "-m",
        "--model",
        default=DEFAULT_MASKED_LM,
        help=f"the model to continue (default: {DEFAULT_MASKED_LM})",
    )
    parser.add_argument(
        "-o", "--output", required=True, help="the folder to write (model, metrics.json, checkpoints)"
    )
    parser.add_argument(
        "--mlm-probability",
        type=real_number(0, 1, low_open=True, high_open=True),
        default=0.15,
        help="share of tokens masked (default 0.15)",
    )
    parser.add_argument("--whole-words", action="store_true", help="mask whole words (all their pieces)")
    parser.add_argument(
        "--nsp", action="store_true", help="also train next-sentence prediction (BERT models)"
    )
    parser.add_argument(
        "--alpha", type=real_number(0), default=1.0, help="weight of the masked-LM loss (default 1)"
    )
    parser.add_argument(
        "--beta", type=real_number(0), default=1.0, help="weight of the next-sentence loss (default 1)"
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument(
        "--max-steps", type=whole_number(1), default=-1, help="train this many optimizer steps"
    )
    length.add_argument(
        "--epochs", type=real_number(0, low_open=True), default=1.0, help="passes over the text (default 1)"
    )
    parser.add_argument(
        "--lr",
        type=real_number(0, 1, low_open=True, high_open=True),
        default=1e-4,
        help="learning rate (default 1e-4)",
    )
    parser.add_argument("--batch-size", type=whole_number(1), default=32)
    parser.add_argument(
        "--max-length",
        type=whole_number(8, 8192),
        default=128,
        help="tokens per packed sequence (default 128)",
    )
    parser.add_argument("--warmup-ratio", type=real_number(0, 1, high_open=True), default=0.06)
    parser.add_argument(
        "--eval-steps",
        type=whole_number(0),
        default=0,
        help="evaluate every N steps (default: 3 times a run)",
    )
    parser.add_argument(
        "--held-out", type=real_number(0.02, 0.05), default=0.03, help="share of lines held out (0.02-0.05)"
    )
    parser.add_argument(
        "--probe", action="append", default=[], help="a sentence with [MASK] to watch (repeatable)"
    )
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    add_processes_argument(parser)
    add_settings_argument(parser, "--text/--csv")
    add_events_argument(parser)
    parser.add_argument("--seed", type=whole_number(0, MAX_SEED), default=42)
    parser.add_argument("--encoding", help="the text's encoding (default: detected)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in -o DIR from its last checkpoint"
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def figures(metrics: dict) -> str:
    return ", ".join(fmt.format(metrics[key]) + f" {label}" for key, label, fmt in FIGURES if key in metrics)


def _on_event(event: dict) -> None:
    kind = event.get("type")
    if kind == "eval":
        what = "before training" if event.get("before") else f"step {event['step']}"
        _say(f"held-out {what}: {figures(event)}")
    elif kind == "probes":
        from lmstudio_app.core.pretrain.evaluate import top_words

        for probe in event["probes"]:
            _say(f"  {probe['text']} -> {top_words(probe)}")
    elif kind in ("oom", "status"):
        _say(event["message"])


def settings_from(args: argparse.Namespace) -> Any:
    from lmstudio_app.core.pretrain.settings import PretrainSettings

    return PretrainSettings(
        base_model=args.model,
        mlm_probability=args.mlm_probability,
        whole_words=args.whole_words,
        nsp=args.nsp,
        alpha=args.alpha,
        beta=args.beta,
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        warmup_ratio=args.warmup_ratio,
        eval_steps=args.eval_steps,
        held_out_fraction=args.held_out,
        probes=list(args.probe),
        precision=args.precision,
        device=args.device,
        seed=args.seed,
        name=Path(args.output).name,
        processes=args.processes,
        command=recorded_command(args),
    )


@reports_events
def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.local import resolve_local
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.pretrain.corpus import TextSource, build_corpus
    from lmstudio_app.core.pretrain.job import pretrain
    from lmstudio_app.core.pretrain.model import plan_model
    from lmstudio_app.core.tasks import Cancelled
    from lmstudio_app.core.training.record import RunRecord

    saved = saved_run(args, data_given=bool(args.text or args.csv))
    if saved is not None:
        return run_saved(args, saved, NAME)
    if not (args.text or args.csv):
        raise UserError(
            "Give the text: --text FILE_OR_DIR... or --csv FILE --text-column C (or --settings FILE; "
            "--resume -o DIR alone continues a run)."
        )
    if args.csv and not args.text_column:
        raise UserError("--csv needs --text-column: name the column that holds the text.")
    out = check_output_dir(args.output)
    RunRecord(out).check_start(args.resume)
    settings = settings_from(args)
    settings.check()
    if not args.resume:  # a model that cannot be pre-trained is one line before the text is read
        base = resolve_local(settings.base_model)
        plan_model(base.path, base.name, settings.nsp)
    source = TextSource(
        paths=list(args.text or []),
        table=args.csv or "",
        column=args.text_column or "",
        encoding=args.encoding or "",
    )
    state = training_progress(args)
    corpus = build_corpus(source, settings.held_out_fraction, settings.seed, state)
    for problem in corpus.problems:
        _say(problem)
    _say(corpus.summary())
    if wants_ranks(args):
        return launch_ranks(args, out, settings.batch_size)

    try:
        with first_ctrl_c_stops(state):
            result = pretrain(
                corpus,
                source,
                settings,
                out,
                state=state,
                on_event=reported(args, _on_event),
                resume=args.resume,
                model_dir=out,
            )
    except Cancelled as exc:
        _say(f"{exc}; continue with the same command plus --resume")
        return 130
    print(f"held-out before: {figures(result.before)}")
    print(f"held-out after:  {figures(result.metrics)}; model saved to {out}")
    return 0
