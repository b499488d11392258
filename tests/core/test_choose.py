"""The chooser's core: LogME against its closed form and known separability, the probe, the sample, the
size from the config on the meta device against real models, and a ranking of real models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmstudio_app.core.choose.embed import stratified_sample
from lmstudio_app.core.choose.logme import class_evidence, logme
from lmstudio_app.core.choose.probe import probe_accuracy
from lmstudio_app.core.choose.rank import Candidate, ChooseOptions, rank_models
from lmstudio_app.core.data.labeled import LabeledData
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import Cancelled, TaskState


def _labels(n: int, classes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, classes, n)


def _features(labels: np.ndarray, noise: float, seed: int = 1) -> np.ndarray:
    """One-hot labels plus Gaussian noise, beside 8 columns of pure noise."""
    rng = np.random.default_rng(seed)
    onehot = np.eye(labels.max() + 1)[labels]
    return np.hstack([onehot + noise * rng.normal(size=onehot.shape), rng.normal(size=(len(labels), 8))])


def _closed_form(features: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """log N(y; 0, I/beta + F Fᵀ/alpha) / n: the evidence written as the marginal likelihood itself."""
    n = len(y)
    cov = np.eye(n) / beta + features @ features.T / alpha
    _sign, log_det = np.linalg.slogdet(cov)
    return -0.5 * (n * math.log(2 * math.pi) + log_det + y @ np.linalg.solve(cov, y)) / n


def test_logme_falls_as_the_features_get_noisier() -> None:
    labels = _labels(300, 3)
    scores = [logme(_features(labels, noise), labels) for noise in (0.05, 0.2, 0.5, 1.0, 3.0)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 5, scores


def _regression(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Features with a constant column (the one-hot targets are not centred) and a target the first
    column predicts with noise."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(n, d))
    features[:, 1] = 1.0
    return features, (features[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(float)


def test_logme_is_the_evidence_at_its_maximum() -> None:
    features, y = _regression(40, 6)
    found = class_evidence(features, y)
    assert found.iterations < 100  # converged, not stopped
    assert found.value == pytest.approx(_closed_form(features, y, found.alpha, found.beta), abs=1e-9)
    for a, b in [(0.8, 1), (1.25, 1), (1, 0.8), (1, 1.25)]:  # a fixed point of the evidence: its maximum
        assert _closed_form(features, y, found.alpha * a, found.beta * b) < found.value


def test_logme_evidence_holds_with_more_features_than_rows() -> None:
    features, y = _regression(10, 25)  # the rows can be fitted exactly: the SVD has 10 values, not 25
    found = class_evidence(features, y)
    assert found.value == pytest.approx(_closed_form(features, y, found.alpha, found.beta), abs=1e-9)


def test_logme_of_a_labelled_set_is_the_mean_of_its_classes() -> None:
    labels = _labels(60, 3)
    features = _features(labels, 0.5)
    per_class = [class_evidence(features, (labels == c).astype(float)).value for c in range(3)]
    assert logme(features, [f"class {k}" for k in labels]) == pytest.approx(np.mean(per_class))
    with pytest.raises(ValueError, match="two classes"):
        logme(features, np.zeros(60))


def test_probe_reaches_separable_labels_and_not_random_ones() -> None:
    labels = _labels(200, 2)
    assert probe_accuracy(_features(labels, 0.05), labels) == 1.0
    chance = probe_accuracy(np.random.default_rng(5).normal(size=(200, 10)), labels)
    assert 0.3 < chance < 0.7


def _data(labels: list[str]) -> LabeledData:
    return LabeledData([f"text {i}" for i in range(len(labels))], None, labels, sorted(set(labels)))


def test_stratified_sample_keeps_each_class_share() -> None:
    data = _data(["a"] * 600 + ["b"] * 300 + ["c"] * 97 + ["d"] * 3)
    sample = stratified_sample(data, 100, seed=7)
    counts = {c: sample.labels.count(c) for c in "abcd"}
    assert counts == {"a": 60, "b": 30, "c": 10, "d": 2}  # a rare class keeps two rows for the probe
    assert sample.texts == stratified_sample(data, 100, seed=7).texts
    assert sample.texts != stratified_sample(data, 100, seed=8).texts
    assert stratified_sample(data, 5000, seed=7) is data


GOOD = "wonderful great brilliant moving lovely superb charming delightful gripping excellent beautiful fantastic"
BAD = "boring awful dull terrible tedious clumsy lifeless bland painful dreadful horrible lousy"


@pytest.fixture(scope="module")
def reviews() -> LabeledData:
    """Sentiment carried by many different adjectives: a pretrained encoder knows which are good, a random
    one only tells the words apart."""
    nouns = "film story acting plot music ending cast script".split()
    texts, labels = [], []
    for i in range(48):
        positive = i % 2 == 1
        adjective = (GOOD if positive else BAD).split()[(i // 2) % 12]
        texts.append(f"the {nouns[i % 8]} was {adjective}.")
        labels.append("positive" if positive else "negative")
    return LabeledData(texts, None, labels, ["negative", "positive"])


def test_ranking_of_real_models(reviews, tiny_model) -> None:
    import transformers

    tiny = tiny_model("encoder")
    ranking = rank_models(
        [Candidate("tiny", str(tiny)), Candidate("all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "embedded")],
        reviews,
        ChooseOptions(sample_size=30, seed=1),
    )
    assert [r.model for r in ranking.models] == ["all-MiniLM-L6-v2", "tiny"]  # pretrained beats random
    assert ranking.rows == 30
    best, tiny_row = ranking.models
    assert best.score > tiny_row.score and 0.5 <= best.probe_accuracy <= 1.0
    real = transformers.AutoModelForSequenceClassification.from_pretrained(tiny, num_labels=2)
    assert tiny_row.parameters == sum(p.numel() for p in real.parameters())  # the classifier to be trained
    for row in ranking.models:
        assert row.memory_bytes == {
            "float32": 4 * row.parameters,
            "float16": 2 * row.parameters,
            "bfloat16": 2 * row.parameters,
        }
        assert row.seconds > 0


def test_refusals_come_before_any_model_loads(reviews, tiny_model) -> None:
    messages: list[str] = []
    state = TaskState(lambda _f, m: messages.append(m))
    with pytest.raises(UserError, match="minilm-clm is a causal LM"):
        rank_models(
            [Candidate("tiny", str(tiny_model("encoder"))), Candidate("minilm-clm", "minilm-clm")],
            reviews,
            state=state,
        )
    assert not any("loading" in m for m in messages)
    with pytest.raises(UserError, match="at least two"):
        rank_models([Candidate("tiny", str(tiny_model("encoder")))], _data(["a"] * 5))
    with pytest.raises(UserError, match="listed twice"):
        rank_models([Candidate("t", str(tiny_model("encoder")))] * 2, reviews)
    with pytest.raises(UserError, match="Folder not found"):
        rank_models([Candidate("gone", "./no/such/model")], reviews)


def test_cancel_stops_the_ranking(reviews, tiny_model) -> None:
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        rank_models([Candidate("tiny", str(tiny_model("encoder")))], reviews, state=state)


def test_candidates_are_the_encoders_on_offer(tiny_model, tiny_decoder) -> None:
    from lmstudio_app.core.choose.candidates import available_candidates, loaded_label
    from lmstudio_app.core.models.registry import ModelRegistry

    registry = ModelRegistry()
    encoder = registry.load(str(tiny_model("mlm")))
    decoder = registry.load(str(tiny_decoder("gpt2")))
    found = available_candidates(registry.models(), cache=False)
    names = [c.name for c in found]
    assert names[:2] == ["all-MiniLM-L6-v2", "minilm-mlm"] and "minilm-clm" not in names  # embedded
    assert loaded_label(encoder) in names and loaded_label(decoder) not in names
    assert next(c for c in found if c.origin == "loaded").loaded is encoder  # used as it is, not reloaded
