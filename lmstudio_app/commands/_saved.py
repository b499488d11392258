"""Training as a run's settings file says, not as options say: how the GUI starts and resumes its runs.

`--settings FILE` starts a new run from FILE, in the layout of a run's settings.json (the job's kind, its
settings, where its data comes from): the GUI writes one for each run it starts, and a finished run's
settings.json starts the same run again elsewhere. `--resume -o DIR` without data options continues DIR as
its own settings.json says. The data is read again from the files the settings name, as a resume does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmstudio_app.commands._events import reported, training_progress
from lmstudio_app.commands._training import CANCELLED, launch_ranks, train_until_done, wants_ranks
from lmstudio_app.core.tasks import TaskState

KIND_COMMANDS = {
    "finetune": "finetune",
    "tokens": "finetune",
    "qa": "finetune",
    "pretrain": "pretrain",
    "distill": "distill",
}


def add_settings_argument(parser: argparse.ArgumentParser, data_options: str) -> None:
    parser.add_argument(
        "--settings",
        metavar="FILE",
        help=f"start a new run as FILE says (a run's settings.json: the job, its settings and its data), "
        f"instead of {data_options} and the training options; --resume -o DIR without {data_options} "
        "continues DIR as its own settings.json says",
    )


def saved_run(args: argparse.Namespace, data_given: bool) -> Any | None:
    """The SavedSettings to train from (--settings FILE, or the run's own on a --resume without data
    options), or None when the options say what to train."""
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.jsonio import read_json
    from lmstudio_app.core.training.record import RunRecord, SavedSettings

    if args.settings is None:
        return RunRecord(Path(args.output)).saved_settings() if args.resume and not data_given else None
    if data_given or args.resume:
        raise UserError(
            "--settings FILE starts a new run with the data FILE names: leave out the data options and "
            "--resume (to continue a run: --resume -o DIR alone)."
        )
    saved = read_json(args.settings)
    if not isinstance(saved.get("settings"), dict) or not saved.get("kind"):
        raise UserError(
            f"{args.settings} is not a run's settings file (settings.json): no job kind or settings."
        )
    job = {k: v for k, v in saved.items() if k not in ("kind", "name", "settings")}
    return SavedSettings(str(saved["kind"]), str(saved.get("name") or ""), saved["settings"], job)


@dataclass
class Recipe:
    """How one job kind trains from saved settings, and how its figures read."""

    start: Callable[[Any, Path, TaskState, Callable], Any]  # (saved, run folder, state, on_event) -> result
    resume: Callable[..., Any]  # core's resume function: (run folder, *, state, on_event) -> result
    printer: Callable[[dict], None]  # the evaluations and messages on stderr, as the command prints them
    summary: Callable[[dict], str]  # the final metrics in words


def run_saved(args: argparse.Namespace, saved: Any, command: str) -> int:
    """Train (or resume) the run `saved` describes in -o DIR with `lmstudio-app COMMAND`; the exit status as
    the commands give it."""
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.training.record import RunRecord

    out = check_output_dir(args.output)
    RunRecord(out).check_start(args.resume)  # first: a resume's folder may not be a run at all
    trains_it = KIND_COMMANDS.get(saved.kind)
    if trains_it != command:
        what = f"`lmstudio-app {trains_it}`" if trains_it else "no command of this app"
        raise UserError(f"That run is a {saved.kind!r} job: {what} trains it, not `lmstudio-app {command}`.")
    if args.processes == 1:  # the run's own number of processes unless the command line says another
        args.processes = int(saved.settings.get("processes", 1) or 1)
    if wants_ranks(args):
        return launch_ranks(args, out, int(saved.settings.get("batch_size", 1) or 1))
    recipe = _recipe(saved.kind)
    state = training_progress(args)
    on_event = reported(args, recipe.printer)
    result = train_until_done(
        state,
        lambda: (
            recipe.resume(out, state=state, on_event=on_event)
            if args.resume
            else recipe.start(saved, out, state, on_event)
        ),
    )
    if result is None:
        return CANCELLED
    print(f"{recipe.summary(result.metrics)}; model saved to {result.model_dir}")
    return 0


def _recipe(kind: str) -> Recipe:
    from lmstudio_app.commands import finetune, finetune_multilabel, finetune_qa, finetune_tokens, pretrain
    from lmstudio_app.commands._training import eval_printer

    if kind == "tokens":
        from lmstudio_app.core.tokens.job import resume_run

        scores = finetune_tokens._scores
        return Recipe(_start_tokens, resume_run, eval_printer(scores), scores)
    if kind == "qa":
        from lmstudio_app.core.qa.plan import resume_qa

        scores = finetune_qa._scores
        return Recipe(_start_qa, resume_qa, eval_printer(scores), scores)
    if kind == "distill":
        from lmstudio_app.commands import distill
        from lmstudio_app.core.finetune.distill import resume_distill

        return Recipe(distill.start_saved, resume_distill, eval_printer(distill.scores), distill.summary)
    if kind == "pretrain":
        from lmstudio_app.core.pretrain.job import resume_run

        return Recipe(
            _start_pretrain,
            resume_run,
            pretrain._on_event,
            lambda m: f"held-out after: {pretrain.figures(m)}",
        )
    from lmstudio_app.core.finetune.job import resume_run

    def labels(event: dict) -> str:
        return finetune_multilabel.scores(event) if "eval_micro_f1" in event else finetune._scores(event)

    return Recipe(_start_labels, resume_run, eval_printer(labels), labels)


def _start_labels(saved: Any, out: Path, state: TaskState, on_event: Callable) -> Any:
    from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    plan = DataPlan.from_saved(saved.job)
    train, val = build_splits(plan, state=state)
    settings = FineTuneSettings.from_dict(saved.settings)
    return fine_tune(train, val, settings, out, state=state, on_event=on_event, plan=plan)


def _start_tokens(saved: Any, out: Path, state: TaskState, on_event: Callable) -> Any:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.tokens.files import TokenDataPlan
    from lmstudio_app.core.tokens.job import train_tagger
    from lmstudio_app.core.tokens.settings import TokenSettings

    if not saved.job.get("data_plan"):
        raise UserError("The settings name no data (data_plan): a word-tagging run cannot start without it.")
    plan = TokenDataPlan.from_dict(saved.job["data_plan"])
    train, val = plan.build()
    settings = TokenSettings.from_dict(saved.settings)
    return train_tagger(train, val, settings, out, state=state, on_event=on_event, plan=plan)


def _start_qa(saved: Any, out: Path, state: TaskState, on_event: Callable) -> Any:
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.plan import build_split
    from lmstudio_app.core.qa.settings import QASettings

    settings = QASettings.from_dict(saved.settings)
    train, val = build_split(settings, state)
    return train_qa(train, val, settings, out, state=state, on_event=on_event)


def _start_pretrain(saved: Any, out: Path, state: TaskState, on_event: Callable) -> Any:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.pretrain.corpus import TextSource, build_corpus
    from lmstudio_app.core.pretrain.job import pretrain
    from lmstudio_app.core.pretrain.settings import PretrainSettings

    if not saved.job.get("text"):
        raise UserError("The settings name no text: a pre-training run cannot start without it.")
    settings = PretrainSettings.from_dict(saved.settings)
    source = TextSource.from_dict(saved.job["text"])
    corpus = build_corpus(source, settings.held_out_fraction, settings.seed, state)
    return pretrain(corpus, source, settings, out, state=state, on_event=on_event)
