"""BG/NBD: closed-form likelihood, parameter recovery and the horizon probability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from models.bgnbd import (
    BgNbdFitError,
    BgNbdParams,
    fit,
    log_likelihood,
    p_alive,
    prob_no_purchase,
    summary_from_features,
)

TRUE = BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5)  # close to the paper's CDNOW estimates


def simulate(
    params: BgNbdParams, n: int, seed: int, horizon: float = 0.0
) -> tuple[np.ndarray, ...]:
    """(x, t_x, T, purchases in (T, T + horizon]) for customers drawn from the model."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    T = rng.uniform(26, 78, n)
    x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i] + horizon:
                break
            if t <= T[i]:
                x[i], t_x[i] = x[i] + 1, t
            else:
                later[i] += 1
            if rng.random() < p[i]:  # drops out right after a purchase
                break
    return x, t_x, T, later


def _individual_likelihood(params: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """The likelihood by integrating over lambda and p numerically, from its definition."""

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # Plain-math densities: scipy.stats' per-call overhead makes dblquad take seconds.
    log_norm = (
        r * math.log(alpha)
        - math.lgamma(r)
        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )

    def integrand(p: float, lam: float) -> float:
        alive = (1 - p) ** x * lam**x * math.exp(-lam * T)
        dead = p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x) if x > 0 else 0.0
        density = lam ** (r - 1) * math.exp(-alpha * lam) * p ** (a - 1) * (1 - p) ** (b - 1)
        return (alive + dead) * density * math.exp(log_norm)

    value, _ = integrate.dblquad(integrand, 0, 20, 0, 1, epsabs=1e-13, epsrel=1e-7)
    return value


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 30.0), (1, 5.0, 40.0), (4, 30.5, 52.0)])
def test_closed_form_matches_numerical_integration(x: int, t_x: float, T: float) -> None:
    params = BgNbdParams(r=1.5, alpha=6.0, a=1.2, b=3.0)
    closed = np.exp(log_likelihood(params, np.array([x]), np.array([t_x]), np.array([T]))[0])
    assert closed == pytest.approx(_individual_likelihood(params, x, t_x, T), rel=1e-4)


def test_fit_recovers_simulated_parameters() -> None:
    x, t_x, T, _ = simulate(TRUE, 5000, seed=1)
    est = fit(x, t_x, T)
    assert est.r == pytest.approx(TRUE.r, rel=0.15)
    assert est.alpha == pytest.approx(TRUE.alpha, rel=0.15)
    # a and b are weakly identified one by one; their mean dropout rate a / (a + b) is not.
    assert est.a / (est.a + est.b) == pytest.approx(TRUE.a / (TRUE.a + TRUE.b), rel=0.1)
    assert est.a == pytest.approx(TRUE.a, rel=0.4) and est.b == pytest.approx(TRUE.b, rel=0.4)
    assert log_likelihood(est, x, t_x, T).sum() >= log_likelihood(TRUE, x, t_x, T).sum()


def test_prob_no_purchase_matches_what_happens_next() -> None:
    x, t_x, T, later = simulate(TRUE, 6000, seed=2, horizon=26.0)
    quiet = prob_no_purchase(fit(x, t_x, T), x, t_x, T, 26.0)
    assert (1 - quiet).sum() == pytest.approx((later > 0).sum(), rel=0.08)
    # Calibrated per quintile of the prediction, not only on average.
    for idx in np.array_split(np.argsort(quiet), 5):
        assert abs(quiet[idx].mean() - (later[idx] == 0).mean()) < 0.05


def test_p_alive_is_one_for_single_buyers_and_falls_with_recency() -> None:
    params = BgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    x, T = np.array([0.0, 3.0, 3.0]), np.full(3, 100.0)
    alive = p_alive(params, x, np.array([0.0, 95.0, 20.0]), T)
    assert alive[0] == 1.0 and alive[1] > alive[2]
    # The horizon probability does rank a lapsed one-time buyer above a fresh one.
    quiet = prob_no_purchase(params, np.zeros(2), np.zeros(2), np.array([5.0, 300.0]), 90.0)
    assert 0 < quiet[0] < quiet[1] < 1
    assert prob_no_purchase(params, x, np.array([0.0, 95.0, 20.0]), T, 0.0) == pytest.approx(1.0)


def test_summary_from_features() -> None:
    x, t_x, T = summary_from_features(
        np.array([10.0, 3.0]), np.array([50.0, 3.0]), np.array([3, 1])
    )
    assert x.tolist() == [2.0, 0.0] and t_x.tolist() == [40.0, 0.0] and T.tolist() == [50.0, 3.0]


def test_fit_refuses_unidentifiable_or_bad_input() -> None:
    with pytest.raises(BgNbdFitError, match="bought twice"):
        fit(np.zeros(50), np.zeros(50), np.full(50, 10.0))
    with pytest.raises(BgNbdFitError, match="only 3 customers"):
        fit(np.ones(3), np.ones(3), np.full(3, 10.0))
    with pytest.raises(BgNbdFitError, match="inconsistent"):
        fit(np.ones(20), np.full(20, 12.0), np.full(20, 10.0))
