"""BG/NBD buy-till-you-die model (Fader, Hardie & Lee 2005), the churn score's baseline.

Notation per customer, with time in days since their first purchase: `x` repeat purchases,
`t_x` time of the last purchase, `T` time of the cut-off. While alive a customer buys at a
Poisson rate lambda ~ Gamma(r, alpha); after each purchase they drop out with probability
p ~ Beta(a, b).

P(alive) alone is not a usable churn ranking: a one-time buyer (x = 0) is "alive" with
probability 1 under the model whatever their recency, so every lapsed single buyer would rank
as the safest customer. The churn baseline is instead the probability of no purchase in the
horizon, which also accounts for how slowly a surviving customer buys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, logsumexp


class BgNbdFitError(RuntimeError):
    """The data cannot identify the model (too few customers or no repeat purchase)."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_array(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.a, self.b])


def log_likelihood(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood, equation (6) of the paper in log form."""
    r, alpha, a, b = params.as_array()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive_term = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    # The dropped-out branch exists only for customers who bought again (x > 0).
    safe_x = np.maximum(x, 1.0)
    dead_term = np.where(
        x > 0,
        betaln(a + 1, b + safe_x - 1) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + logsumexp(np.stack([alive_term, dead_term]), axis=0)


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, min_customers: int = 10) -> BgNbdParams:
    """Maximum-likelihood parameters, optimised over log-parameters with L-BFGS-B."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) < min_customers:
        raise BgNbdFitError(f"only {len(x)} customers (need {min_customers})")
    if not (x > 0).any():
        raise BgNbdFitError("no customer has bought twice: the dropout rate is not identified")
    if np.any((t_x < 0) | (t_x > T) | (x < 0)):
        raise BgNbdFitError("inconsistent summary: need 0 <= t_x <= T and x >= 0")

    def objective(log_params: np.ndarray) -> float:
        params = BgNbdParams(*np.exp(log_params))
        return -float(np.mean(log_likelihood(params, x, t_x, T)))

    # Start alpha at the typical time between purchases so the optimiser starts in scale.
    start = np.log([1.0, max(float(np.mean(T)) / (float(np.mean(x)) + 1.0), 1e-3), 1.0, 1.0])
    result = minimize(objective, start, method="L-BFGS-B", bounds=[(-9.0, 9.0)] * 4)
    if not np.isfinite(result.fun):
        raise BgNbdFitError(f"optimisation failed: {result.message}")
    return BgNbdParams(*(float(v) for v in np.exp(result.x)))


def p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(the customer is still alive at T | x, t_x, T); 1 for one-time buyers (x = 0)."""
    r, alpha, a, b = params.as_array()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    log_ratio = (
        np.log(a)
        - np.log(np.maximum(b + x - 1, 1e-12))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700.0))), 1.0)


def prob_no_purchase(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T): the BG/NBD churn probability for horizon t."""
    # Alive at T, the rate's posterior is Gamma(r + x, alpha + T) and nobody drops out before
    # their next purchase, so P(no purchase | alive) = ((alpha + T) / (alpha + T + t))^(r + x).
    r, alpha, _, _ = params.as_array()
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    quiet_if_alive = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return 1.0 - p_alive(params, x, t_x, T) * (1.0 - quiet_if_alive)


def summary_from_features(
    days_since_last_order: np.ndarray, tenure_days: np.ndarray, orders_count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) from the churn features: repeat purchases, last purchase time, age."""
    T = np.asarray(tenure_days, dtype=float)
    t_x = np.clip(T - np.asarray(days_since_last_order, dtype=float), 0.0, T)
    return np.asarray(orders_count, dtype=float) - 1.0, t_x, T
