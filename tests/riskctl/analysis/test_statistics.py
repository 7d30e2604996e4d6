"""The paired tests, the sample sizes, Holm's correction and the slicing by interval."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from riskctl.analysis.evidence import holm
from riskctl.analysis.load import Sample
from riskctl.analysis.runner import slice_samples
from riskctl.analysis.sample_size import (
    MANN_WHITNEY_ARE,
    error_increase_excluded,
    error_samples,
    exclusion_samples,
    latency_samples,
)
from riskctl.analysis.statistics import stratified_exact_p, van_elteren_p

#: Agreement with scipy and with the brute-force sums (floating-point sums of many terms).
TOL = 1e-9


@pytest.mark.parametrize(
    "table", [(1, 60, 0, 600), (12, 300, 2, 2700), (3, 150, 0, 1350), (0, 10, 4, 40), (5, 5, 5, 5)]
)
def test_one_interval_is_fishers_test(table: tuple[int, int, int, int]) -> None:
    """With one interval the stratified exact test is scipy's one-sided Fisher test."""
    ce, cn, be, bn = table
    fisher = stats.fisher_exact([[ce, cn - ce], [be, bn - be]], alternative="greater").pvalue
    assert stratified_exact_p([table]) == pytest.approx(fisher, abs=TOL)


def _brute_force(strata: list[tuple[int, int, int, int]]) -> float:
    """P(sum of canary events >= observed) by enumerating every assignment of each interval's
    events to its requests (equally likely under the null) — the definition, slowly."""
    laws = []
    for ce, cn, be, bn in strata:
        events, total = ce + be, cn + bn
        counts: dict[int, int] = {}
        for chosen in itertools.combinations(range(total), events):
            k = sum(1 for i in chosen if i < cn)
            counts[k] = counts.get(k, 0) + 1
        ways = math.comb(total, events)
        laws.append({k: v / ways for k, v in counts.items()})
    observed = sum(s[0] for s in strata)
    p = 0.0
    for combo in itertools.product(*(law.items() for law in laws)):
        if sum(k for k, _ in combo) >= observed:
            p += math.prod(v for _, v in combo)
    return p


def test_stratified_exact_test_matches_enumeration() -> None:
    """Three small intervals: the convolution equals the enumerated conditional law."""
    strata = [(2, 4, 1, 6), (1, 3, 0, 5), (0, 2, 2, 6)]
    assert stratified_exact_p(strata) == pytest.approx(_brute_force(strata), abs=TOL)


def test_an_interval_one_side_missed_carries_nothing() -> None:
    """Intervals with no canary, no baseline or no events leave the p-value unchanged."""
    base = [(3, 20, 1, 180)]
    more = [*base, (0, 0, 5, 50), (4, 4, 0, 0), (0, 30, 0, 270)]
    assert stratified_exact_p(more) == pytest.approx(stratified_exact_p(base), abs=TOL)
    with pytest.raises(ValueError, match="inconsistent"):
        stratified_exact_p([(5, 4, 0, 10)])


def test_one_interval_is_mann_whitney() -> None:
    """With one interval van Elteren's test is scipy's Mann–Whitney test (asymptotic, no
    continuity correction), ties included."""
    rng = np.random.default_rng(1)
    c = np.round(rng.lognormal(0, 0.5, 40), 1)
    b = np.round(rng.lognormal(-0.1, 0.5, 300), 1)
    ref = stats.mannwhitneyu(c, b, alternative="greater", method="asymptotic", use_continuity=False)
    assert van_elteren_p([c], [b]) == pytest.approx(ref.pvalue, abs=TOL)


def test_a_stall_on_both_sides_cancels_when_paired() -> None:
    """A stall delaying both sides by 3 s in one interval of two: unpaired, the canary (with more
    of its requests in the stall) looks slower; paired by interval it does not."""
    rng = np.random.default_rng(2)
    calm_c, calm_b = rng.lognormal(-3, 0.3, 10), rng.lognormal(-3, 0.3, 300)
    stall_c, stall_b = rng.lognormal(-3, 0.3, 30) + 3, rng.lognormal(-3, 0.3, 60) + 3
    unpaired = van_elteren_p([np.r_[calm_c, stall_c]], [np.r_[calm_b, stall_b]])
    paired = van_elteren_p([calm_c, stall_c], [calm_b, stall_b])
    assert unpaired < 1e-6
    assert paired > 0.05
    with pytest.raises(ValueError, match="same intervals"):
        van_elteren_p([calm_c], [])
    assert van_elteren_p([[]], [calm_b]) == 1.0


def test_error_sample_size_matches_fleiss() -> None:
    """10 % vs 20 %, equal groups, alpha 0.025 one-sided, power 0.8: 199 per group (Fleiss,
    Levin & Paik, 3rd ed., the formula without continuity correction)."""
    assert error_samples(0.10, 0.10, alpha=0.025, power=0.8, ratio=1.0) == 199
    # A ninefold baseline needs fewer canary requests than an equal one.
    assert error_samples(0.10, 0.10, alpha=0.025, power=0.8, ratio=9.0) < 199
    with pytest.raises(ValueError, match="increase"):
        error_samples(0.1, 0.0, alpha=0.01, power=0.9, ratio=1.0)


def test_latency_sample_size_matches_the_normal_formula() -> None:
    """A shift of half a standard deviation, alpha 0.025, power 0.8: 2 (1.96 + 0.8416)^2 / 0.25
    = 62.8 per group for the t test (Chow, Shao & Wang, *Sample Size Calculations in Clinical
    Research*, §3.2), over the Mann–Whitney efficiency 3/π: 66."""
    assert latency_samples(1.0, math.exp(0.5), alpha=0.025, power=0.8, ratio=1.0) == 66
    assert math.ceil(62.79 / MANN_WHITNEY_ARE) == 66
    with pytest.raises(ValueError, match="slowdown"):
        latency_samples(1.0, 1.0, alpha=0.01, power=0.9, ratio=1.0)
    with pytest.raises(ValueError, match="alpha"):
        latency_samples(1.0, 1.5, alpha=0.7, power=0.9, ratio=1.0)


def test_holm_adjusted_p_values() -> None:
    """Holm (1979): p = 0.01, 0.04, 0.03 adjust to 0.03, 0.06, 0.06."""
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_exclusion_samples_is_the_first_n_that_excludes() -> None:
    """With no errors on either side, the n returned is the first whose Agresti–Caffo bound
    excludes +5 % (and the one before does not); a canary already 5 points worse never does."""
    n = exclusion_samples(0.0, 0.0, 0.05, alpha=0.01, ratio=9.0)
    assert n is not None
    assert error_increase_excluded((0, n), (0, 9 * n), 0.05, alpha=0.01)
    assert not error_increase_excluded((0, n - 1), (0, 9 * (n - 1)), 0.05, alpha=0.01)
    assert exclusion_samples(0.06, 0.01, 0.05, alpha=0.01, ratio=9.0) is None
    # Zero errors in 30 requests cannot exclude 5 % (the rule of three puts the bound near 10 %).
    assert not error_increase_excluded((0, 30), (0, 270), 0.05, alpha=0.05)


def test_slice_samples_by_send_time() -> None:
    """Samples fall in the interval between the looks they were sent in; earlier ones in the
    first, later ones in the last."""
    samples = [Sample("a", 200, 0.01, t) for t in (0.5, 1.2, 1.9, 2.1, 3.5)]
    parts = slice_samples(samples, [1.0, 2.0, 3.0])
    assert [[s.sent_at for s in p.samples] for p in parts] == [[0.5, 1.2, 1.9], [2.1, 3.5]]
    assert len(slice_samples(samples, [1.0])) == 1
