"""LogME (You, Liu, Wang, Long 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer
Learning"), written from the paper: how well frozen features predict the labels, as the log evidence of a
Bayesian linear model fitted per class.

For one target column y (n,) and features F (n, d): y = F w + noise with w ~ N(0, I/alpha) and noise ~
N(0, 1/beta). alpha and beta are set by the paper's fixed-point iteration (its Algorithm 1, MacKay's
evidence approximation), made cheap by one SVD of F shared by every class; the score is the log evidence
log p(y | F, alpha, beta) divided by n. LogME of a labelled set is the mean over the one-hot columns of its
classes: higher means the features separate the labels better, so fine-tuning from them tends to go further.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TINY = 1e-12


@dataclass(frozen=True)
class Evidence:
    """The maximised log evidence per sample of one target column, at the alpha and beta that give it."""

    value: float
    alpha: float
    beta: float
    iterations: int


def _spectrum(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U, s) of the reduced SVD of F in float64: every class's iteration works on these alone."""
    u, s, _ = np.linalg.svd(np.asarray(features, dtype=np.float64), full_matrices=False)
    return u, s


def _fit(z: np.ndarray, sigma: np.ndarray, alpha: float, beta: float) -> tuple[float, float, float]:
    """(gamma, |m|², |F m - y|² minus the part of y outside F's column space) for the posterior mean m at
    alpha and beta, in the singular basis: m = V diag(beta s / (alpha + beta s²)) Uᵀy."""
    denominator = alpha + beta * sigma
    gamma = float(np.sum(beta * sigma / denominator))
    m_norm = float(np.sum(beta**2 * sigma * z**2 / denominator**2))
    residual_in = float(np.sum((alpha * z / denominator) ** 2))
    return gamma, m_norm, residual_in


def class_evidence(
    features: np.ndarray, target: np.ndarray, *, tol: float = 1e-6, max_iter: int = 100
) -> Evidence:
    """The maximised evidence of `target` (n,) given `features` (n, d); see the module docstring."""
    return _evidence(
        *_spectrum(features), features.shape, np.asarray(target, dtype=np.float64), tol, max_iter
    )


def _evidence(
    u: np.ndarray, s: np.ndarray, shape: tuple[int, int], y: np.ndarray, tol: float, max_iter: int
) -> Evidence:
    n, d = shape
    sigma = s**2
    z = u.T @ y
    outside = max(float(y @ y - z @ z), 0.0)  # what no weights can fit
    alpha, beta, iterations = 1.0, 1.0, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        gamma, m_norm, residual_in = _fit(z, sigma, alpha, beta)
        new_alpha = gamma / max(m_norm, _TINY)
        new_beta = (n - gamma) / max(outside + residual_in, _TINY)
        change = abs(new_alpha / new_beta - alpha / beta) / (alpha / beta)
        alpha, beta = new_alpha, new_beta
        if change < tol:
            break
    _gamma, m_norm, residual_in = _fit(z, sigma, alpha, beta)
    residual = outside + residual_in
    log_det = float(np.sum(np.log(alpha + beta * sigma))) + (d - len(s)) * math.log(alpha)
    value = (
        n / 2 * math.log(beta)
        + d / 2 * math.log(alpha)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * residual
        - alpha / 2 * m_norm
        - log_det / 2
    )
    return Evidence(value / n, alpha, beta, iterations)


def logme(features: np.ndarray, labels: list[str] | np.ndarray) -> float:
    """LogME of a labelled set: the mean over its classes of the one-hot column's evidence per sample."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("LogME needs at least two classes")
    u, s = _spectrum(features)
    values = [
        _evidence(u, s, features.shape, (labels == c).astype(np.float64), 1e-6, 100).value for c in classes
    ]
    return float(np.mean(values))
