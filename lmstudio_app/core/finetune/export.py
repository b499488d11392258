"""The fine-tuned classifier elsewhere: ONNX, the equivalent command line, an accelerate script."""

from __future__ import annotations

import shlex
import warnings
from pathlib import Path
from typing import Any

from lmstudio_app.core.data.labeled import DataSource
from lmstudio_app.core.data.multilabel import JSON_NAME
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.finetune.predict import load_classifier
from lmstudio_app.core.finetune.settings import FineTuneSettings
from lmstudio_app.core.jsonio import atomic_path
from lmstudio_app.core.models.quiet import quiet_transformers


def export_onnx(model_dir: Path, out_file: Path) -> Path:
    """Export the classifier to ONNX (dynamic batch and sequence axes); needs the `onnx` package."""
    import importlib.util

    import torch

    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None:
        raise UserError("ONNX export needs the onnx and onnxscript packages: pip install onnx onnxscript.")
    model, tokenizer, _ = load_classifier(Path(model_dir), "cpu")
    out_file = Path(out_file)
    sample = tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).logits

    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with quiet_transformers(), warnings.catch_warnings(), atomic_path(out_file) as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapper().eval(),
            tuple(sample[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["logits"],
            dynamic_shapes={"inputs": tuple({0: batch, 1: seq} for _ in names)},
            dynamo=True,
            external_data=False,  # one file, renamed whole: a side file would keep the temporary name
            verbose=False,
        )
    return out_file


def command_line(
    settings: FineTuneSettings,
    csv: Path,
    out_dir: Path,
    val_csv: Path | None = None,
    *,
    source: DataSource | None = None,
) -> str:
    """The equivalent `lmstudio-app finetune ...` line (defaults of the extra options left out); `source`
    (how the data was read) adds how its labels were read: several per row, and their separator."""
    default = FineTuneSettings()
    parts = ["lmstudio-app", "finetune", "-m", settings.base_model, "--csv", str(csv)]
    parts += ["--text-column", settings.text_column]
    if settings.text_pair_column:
        parts += ["--text-pair-column", settings.text_pair_column]
    parts += ["--label-column", settings.label_column, "-o", str(out_dir)]
    if source is not None and source.multi_label:
        parts += ["--multi-label", "--label-separator", source.label_separator or JSON_NAME]
    if settings.threshold is not None:
        parts += ["--threshold", f"{settings.threshold:g}"]
    parts += ["--val-csv", str(val_csv)] if val_csv else ["--val-split", f"{settings.val_fraction:g}"]
    parts += ["--epochs", f"{settings.epochs:g}", "--lr", f"{settings.learning_rate:g}"]
    parts += ["--batch-size", str(settings.batch_size), "--max-length", str(settings.max_length)]
    parts += ["--seed", str(settings.seed)]
    extras = [
        ("--warmup-ratio", "warmup_ratio"),
        ("--weight-decay", "weight_decay"),
        ("--patience", "patience"),
        ("--grad-accum", "grad_accum"),
        ("--max-steps", "max_steps"),
        ("--device", "device"),
        ("--precision", "precision"),
    ]
    for flag, name in extras:
        value = getattr(settings, name)
        if value != getattr(default, name):
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(parts)


def accelerate_script(
    settings: FineTuneSettings, csv: Path, out_dir: Path, source: DataSource | None = None
) -> str:
    """A bash script that runs the same job with `accelerate launch` (one process per GPU, or a cluster node)."""
    args = shlex.split(command_line(settings, csv, out_dir, source=source))[1:]  # drop "lmstudio-app"
    lines, i = [], 0
    while i < len(args):  # one "--option value" per line
        if args[i].startswith("-") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            lines.append(f"{args[i]} {shlex.quote(args[i + 1])}")
            i += 2
        else:
            lines.append(shlex.quote(args[i]))
            i += 1
    lines = [line for line in lines if not line.startswith("--device ")]  # accelerate places each process
    return (
        "#!/usr/bin/env bash\n"
        "# The same fine-tuning job on every GPU of this machine (or a cluster node) with accelerate.\n"
        "# Configure once with `accelerate config` (multi-node: set --num_machines/--machine_rank/--main_process_ip).\n"
        "# The batch size is the whole step's batch, split among the GPUs: it must divide by NUM_GPUS.\n"
        "set -euo pipefail\n"
        "NUM_GPUS=\"${NUM_GPUS:-$(python -c 'import torch; print(max(1, torch.cuda.device_count()))')}\"\n"
        'accelerate launch --num_processes "$NUM_GPUS" -m lmstudio_app \\\n    '
        + " \\\n    ".join(lines)
        + "\n"
    )
