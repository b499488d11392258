"""`lmstudio-app embed-map`: a table's rows as 2-D points (PCA or UMAP of sentence embeddings), PNG or CSV."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lmstudio_app.commands._common import add_model_arguments, stderr_progress

NAME = "embed-map"
HELP = (
    "project a table's rows to 2-D with a model's embeddings; write a PNG plot or a CSV of x, y, label, text"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, None, "encoder or classifier model")
    parser.add_argument("--csv", required=True, help="the table (CSV, TSV, JSONL or XLSX)")
    parser.add_argument("--text-column", required=True, help="the column holding the texts")
    parser.add_argument("--label-column", help="the column holding the labels (colours the map)")
    parser.add_argument("--method", choices=["pca", "umap"], default="pca", help="projection (default: pca)")
    parser.add_argument(
        "--pooling",
        choices=["cls", "mean"],
        default="cls",
        help="[CLS] vector or mean of tokens (default: cls)",
    )
    parser.add_argument("--size", default="900x700", help="PNG size WxH (default: 900x700)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="OUT.png (the plot), or a table of x, y, label, text: .csv, .tsv, .xlsx, .jsonl or .json",
    )


def _check(args: argparse.Namespace) -> tuple[Path, tuple[int, int]]:
    """The output and the PNG size, refused before the table is read or a model loaded."""
    from lmstudio_app.core.data.table_writer import TABLE_FORMATS
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_file

    if not args.model:
        raise UserError("Give the model whose embeddings make the map: -m FOLDER, hub id or embedded name.")
    out = check_output_file(args.output, (".png", *TABLE_FORMATS))
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must look like 900x700, not {args.size!r}.") from None
    return out, (width, height)


def _write_png(result, out: Path, size: tuple[int, int]) -> None:
    from lmstudio_app.core.jsonio import atomic_path

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSize

    from lmstudio_app.ui.app import make_application
    from lmstudio_app.ui.explain.map_plot import MapPlot
    from lmstudio_app.ui.widgets.heatmap import export_png

    make_application()
    plot = MapPlot()
    plot.set_map(result, "label" if result.labels is not None else "predicted")
    with atomic_path(out) as tmp:
        export_png(plot, tmp, QSize(*size))


def run(args: argparse.Namespace) -> int:
    import sys

    from lmstudio_app.commands._common import load_model_from_args
    from lmstudio_app.core.explain.embed_map import MapOptions, dataset_map, read_rows, write_map_table

    out, size = _check(args)
    progress = stderr_progress()
    texts, labels = read_rows(args.csv, args.text_column, args.label_column, state=progress)
    loaded = load_model_from_args(args)
    result = dataset_map(
        loaded, texts, labels, MapOptions(pooling=args.pooling, method=args.method), state=progress
    )
    if out.suffix.lower() == ".png":
        _write_png(result, out, size)
    else:
        write_map_table(result, out)
    print(
        f"wrote {out} ({len(texts):,} rows, {args.method.upper()} of {args.pooling} embeddings)",
        file=sys.stderr,
    )
    return 0
