"""The token-classification job: a word tagger (NER, parts of speech, any word tags) trained by the
engine (core/training/engine.py).

Only what is particular to tagging lives here: the tag list, windows of sub-word pieces with aligned
labels, a model with a token-classification head, word-level metrics, and what is saved. Running,
cancelling, resuming, out-of-memory retries and the run folder belong to the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.tokens.align import EncodeOptions, TokenDataset, encode_sentences, gather_words
from lmstudio_app.core.tokens.data import TaggedData
from lmstudio_app.core.tokens.files import TokenDataPlan
from lmstudio_app.core.tokens.metrics import tag_metrics
from lmstudio_app.core.tokens.scheme import entity_scheme
from lmstudio_app.core.tokens.settings import TOKENS_FILE, TokenResult, TokenSettings
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.engine import JobContext, Outcome, TrainerParts, run_job
from lmstudio_app.core.training.head_job import (
    emit_final_eval,
    final_predictions,
    first_output,
    load_base,
    load_with_head,
    model_dir_for,
    run_figures,
    save_model_folder,
)
from lmstudio_app.core.training.record import RunRecord, SavedSettings

_PREFIX_ORDER = {"B": 0, "I": 1, "E": 2, "S": 3}


def tag_sort_key(tag: str) -> tuple:
    """O first, then entity types alphabetically with their B-, I-, E-, S- tags together."""
    prefix, dash, kind = tag.partition("-")
    if tag == "O":
        return (0, "", 0)
    if dash and prefix in _PREFIX_ORDER:
        return (1, kind, _PREFIX_ORDER[prefix])
    return (1, tag, -1)


def tag_list(*parts: TaggedData) -> list[str]:
    return sorted({t for data in parts for row in data.tags for t in row}, key=tag_sort_key)


def words_to_tags(dataset: TokenDataset, logits: Any, lengths: list[int], tags: list[str]) -> list[list[str]]:
    """Each word's predicted tag (its owner window's first piece); a word without pieces gets O (or
    the first tag)."""
    best = [np.asarray(row).argmax(axis=-1) for row in logits]
    fallback = "O" if "O" in tags else tags[0]
    return [
        [tags[int(i)] if i is not None else fallback for i in row]
        for row in gather_words(dataset, best, lengths)
    ]


class TokenJob:
    """Train a token classifier on `train`, evaluate on `val` word by word, save a loadable HF folder."""

    kind = "tokens"

    def __init__(
        self,
        train: TaggedData,
        val: TaggedData,
        settings: TokenSettings,
        plan: TokenDataPlan | None,
        model_dir: Path,
    ) -> None:
        self.train, self.val, self.settings, self.plan = train, val, settings.copy(), plan
        self.model_dir = Path(model_dir)
        self.tags = tag_list(train, val)
        self.tokenizer: Any = None
        self.source: Any = None
        self.max_length = settings.max_length
        self.train_ds: TokenDataset | None = None
        self.val_ds: TokenDataset | None = None

    def check(self) -> None:
        if len(self.train) == 0:
            raise DataError("There are no training sentences: add data or lower the validation fraction.")
        if len(self.val) == 0:
            raise DataError(
                "There are no validation sentences: raise the validation fraction or give a file."
            )
        if len(self.tags) < 2:
            raise DataError(
                f"Every word has the same tag ({self.tags[0]}): a tagger needs at least two tags."
            )

    def resume_from(self, saved: SavedSettings) -> None:
        tags = saved.job.get("tags") or self.tags
        unknown = sorted(set(self.tags) - set(tags))
        if unknown:
            raise DataError(f"The data now has tags the run did not start with ({', '.join(unknown[:5])}).")
        self.tags = list(tags)

    def describe(self) -> dict:
        return {
            "tags": self.tags,
            "scheme": entity_scheme(self.tags),
            "data_plan": self.plan.to_dict() if self.plan else None,
            "model_dir": str(self.model_dir),
            "train_sentences": len(self.train),
            "val_sentences": len(self.val),
        }

    def train_rows(self) -> int:
        return len(self.train_ds) if self.train_ds is not None else len(self.train)

    def prepare(self, ctx: JobContext) -> dict:
        from lmstudio_app.core.models.word_input import load_word_tokenizer

        base = load_base(ctx, self.settings, "training a word tagger", load_word_tokenizer)
        self.source, self.tokenizer, self.max_length = base.source, base.tokenizer, base.max_length
        ids = {t: i for i, t in enumerate(self.tags)}
        options = EncodeOptions(self.max_length, self.settings.all_pieces)
        encoded = []
        for data in (self.train, self.val):
            tag_ids = [[ids[t] for t in row] for row in data.tags]
            encoded.append(encode_sentences(self.tokenizer, data.sentences, tag_ids, options, ctx.state))
        self.train_ds, self.val_ds = encoded
        split = self.train_ds.split + self.val_ds.split
        if split:
            ctx.recorder.say(
                f"{split} sentence(s) longer than {self.max_length} tokens split into overlapping windows"
            )
        return {"max length": self.max_length, "tags": len(self.tags)}

    def _metrics(self, eval_pred: Any) -> dict[str, float]:
        """compute_metrics for the Trainer: word-level scores of the validation windows, in order."""
        logits = first_output(eval_pred.predictions)
        predicted = words_to_tags(self.val_ds, logits, [len(s) for s in self.val.sentences], self.tags)
        return tag_metrics(self.val.tags, predicted, self.tags)["metrics"]

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

        model = load_with_head(
            AutoModelForTokenClassification,
            self.source,
            "word tagging",
            num_labels=len(self.tags),
            id2label=dict(enumerate(self.tags)),
            label2id={t: i for i, t in enumerate(self.tags)},
            ignore_mismatched_sizes=True,
        )
        return TrainerParts(
            model=model,
            train_dataset=self.train_ds,
            eval_dataset=self.val_ds,
            data_collator=DataCollatorForTokenClassification(self.tokenizer, pad_to_multiple_of=8),
            compute_metrics=self._metrics,
            processing_class=self.tokenizer,
            lengths=[len(ids) for ids in self.train_ds.ids],
        )

    def finish(self, ctx: JobContext, outcome: Outcome) -> TokenResult:
        pred, eval_loss = final_predictions(outcome, self.val_ds)
        logits = first_output(pred.predictions)
        predicted = words_to_tags(self.val_ds, logits, [len(s) for s in self.val.sentences], self.tags)
        scores = tag_metrics(self.val.tags, predicted, self.tags)
        metrics = {
            **scores["metrics"],
            "eval_loss": eval_loss,
            **run_figures(ctx, outcome),
            "train_sentences": len(self.train),
            "val_sentences": len(self.val),
            "val_words": self.val.words(),
            "split_sentences": self.train_ds.split + self.val_ds.split,
            "max_length": self.max_length,
        }
        emit_final_eval(ctx, metrics)
        result = TokenResult(
            run_dir=ctx.record.path,
            model_dir=self.model_dir,
            metrics=metrics,
            tags=self.tags,
            scheme=entity_scheme(self.tags),
            per_tag=scores["per_tag"],
            per_type=scores["per_type"],
            confusion=scores["confusion"],
            history=ctx.recorder.history,
        )
        ctx.state.progress(0.99, "Saving the model")
        if ctx.recorder.main:
            meta = {
                "base_model": self.settings.base_model,
                "tags": self.tags,
                "scheme": result.scheme,
                "max_length": self.max_length,
                "all_pieces": self.settings.all_pieces,
            }
            save_model_folder(ctx, outcome, self.model_dir, (TOKENS_FILE, meta), result)
        ctx.state.progress(1.0, f"Finished: token accuracy {metrics['eval_token_accuracy']:.3f}")
        return result


def train_tagger(
    train: TaggedData,
    val: TaggedData,
    settings: TokenSettings,
    run_dir: Path,
    *,
    state: TaskState | None = None,
    on_event: EventFn | None = None,
    resume: bool = False,
    model_dir: Path | None = None,
    plan: TokenDataPlan | None = None,
) -> TokenResult:
    """Train a word tagger in `run_dir` (model in run_dir/"model" unless `model_dir` says otherwise)."""
    run_dir = Path(run_dir)
    return run_job(
        TokenJob(train, val, settings, plan, model_dir_for(run_dir, resume, model_dir)),
        run_dir,
        state=state,
        on_event=on_event,
        resume=resume,
    )


def resume_run(
    run_dir: Path, *, state: TaskState | None = None, on_event: EventFn | None = None
) -> TokenResult:
    """Continue a cancelled or interrupted tagging run from its newest checkpoint, reading its data again."""
    saved = RunRecord(Path(run_dir)).saved_settings()
    if not saved.job.get("data_plan"):
        raise UserError(f"{run_dir} has no settings.json with its data: it cannot be resumed.")
    plan = TokenDataPlan.from_dict(saved.job["data_plan"])
    train, val = plan.build()
    settings = TokenSettings.from_dict(saved.settings)
    return train_tagger(
        train, val, settings, Path(run_dir), state=state, on_event=on_event, resume=True, plan=plan
    )
