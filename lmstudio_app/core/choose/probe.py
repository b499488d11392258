"""The second opinion beside LogME: a logistic regression on the frozen features, cross-validated.

LogME scores the features' evidence under a linear-Gaussian model; the probe measures what a real
classifier reaches on held-out rows of the sample, in the accuracy the user will read after fine-tuning.
"""

from __future__ import annotations

import warnings

import numpy as np

MAX_FOLDS = 5


def probe_accuracy(features: np.ndarray, labels: list[str] | np.ndarray, seed: int = 0) -> float:
    """Mean accuracy of a standardised logistic regression over stratified folds (5, fewer when the
    smallest class has fewer rows, at least 2)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels)
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    folds = StratifiedKFold(min(MAX_FOLDS, max(2, smallest)), shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():  # a class smaller than the folds, or a slow fit, changes nothing here
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return float(cross_val_score(model, features, labels, cv=folds).mean())
