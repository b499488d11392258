"""The masked-LM recipe (packaging/mlm): corpus cleaning, and training through `lmstudio-app pretrain`.

Why: the real run takes hours and needs apt/npm; these tests keep the corpus cleaning honest and check
that make_mlm.sh calls the app's own command with options it accepts (the command itself is tested in
tests/test_cli_pretrain.py and tests/core/test_pretrain.py).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging" / "mlm"))

import build_corpus  # noqa: E402

PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog near the quiet river bank every morning.",
    "Paris is the capital of France, and Rome is the capital of Italy in southern Europe.",
]


def test_build_corpus_cleans_dedupes_and_records_licences(tmp_path: Path) -> None:
    def reader() -> list[str]:
        return [
            PARAGRAPHS[0],
            "  " + PARAGRAPHS[0].upper() + "\n",
            "too short",
            "| 1 | 2 | 3 | 4 | 5 | 6 |",
            PARAGRAPHS[1].replace(" ", "\n  "),
        ]

    src = build_corpus.Source("demo", "test:demo", "Public domain", "test", reader)
    stats = build_corpus.build(tmp_path, [src])
    lines = (tmp_path / "corpus.txt").read_text(encoding="utf-8").splitlines()
    assert lines == [PARAGRAPHS[0], PARAGRAPHS[1]]
    meta = json.loads((tmp_path / "sources.json").read_text(encoding="utf-8"))
    assert meta["sources"]["demo"]["license"] == "Public domain"
    assert meta["sources"]["demo"]["duplicates_dropped"] == 1
    assert stats["demo"]["bytes"] == meta["total_bytes"] > 0
    assert "gcide" in meta["excluded"]
    shipped = {s.name for s in build_corpus.make_sources(tmp_path)}
    assert "gcide" not in shipped and all(s.license for s in build_corpus.make_sources(tmp_path))


def test_make_mlm_trains_with_the_pretrain_command_and_options_it_accepts() -> None:
    from lmstudio_app.cli import build_parser

    script = (REPO / "packaging" / "mlm" / "make_mlm.sh").read_text(encoding="utf-8")
    call = re.search(r'"\$PY" -m lmstudio_app (pretrain .*?)"\$@"', script, re.S)
    assert call is not None, "make_mlm.sh must train with `lmstudio-app pretrain`"
    words = shlex.split(call.group(1).replace("\\\n", " ").replace('"$STEPS"', "600"))
    args = build_parser().parse_args([*words, "--nsp"])
    assert args.command == "pretrain" and args.text == ["build/mlm/corpus.txt"] and args.nsp
    assert (args.max_steps, args.batch_size, args.max_length, args.lr) == (600, 32, 128, 3e-4)
