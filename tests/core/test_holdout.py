"""The holdout's arithmetic against values worked out by hand (and the published ones)."""

from __future__ import annotations

import pytest

from app.core import gates
from app.core.holdout import Comparison, bucket, held_out
from app.core.rules import Rules
from tests.core.test_gates import ctx


def test_holdout_share_is_the_lowest_buckets():
    assert held_out(999, 10) and not held_out(1000, 10)
    assert not held_out(0, 0)  # the default: nobody held back
    assert not held_out(None, 50)  # no key, no assignment


def test_holdout_bucket_spreads_digests_evenly_enough():
    import hashlib

    buckets = [bucket(hashlib.sha256(f"shopper-{n}".encode()).hexdigest()) for n in range(4000)]
    share = sum(held_out(b, 10) for b in buckets) / len(buckets)
    assert 0.08 < share < 0.12


def test_gate_holdout_holds_back_after_every_other_gate():
    rules = Rules(holdout_percent=10)
    assert gates.held_back(ctx(rules=rules, holdout_bucket=5)) == gates.HoldOut()
    assert gates.held_back(ctx(rules=rules, holdout_bucket=5000)) == gates.Pass()
    assert gates.PIPELINE[-1] is gates.held_back


def test_small_sample_by_hand():
    # 3/10 messaged against 1/10 held out. Pooled p = 0.2, SE = sqrt(.2*.8*.2) = 0.178885,
    # z = 0.2 / 0.178885 = 1.1180. Wilson 95 %: 3/10 -> [0.1078, 0.6032], 1/10 -> [0.0179,
    # 0.4042]; Newcombe low = 0.2 - sqrt(0.1922^2 + 0.3042^2) = -0.1598,
    # high = 0.2 + sqrt(0.3032^2 + 0.0821^2) = 0.5141.
    c = Comparison(3, 10, 1, 10)
    z, p = c.z_test()
    assert z == pytest.approx(1.1180, abs=1e-4) and p == pytest.approx(0.2636, abs=1e-4)
    low, high = c.interval()
    assert low == pytest.approx(-0.1598, abs=1e-4) and high == pytest.approx(0.5141, abs=1e-4)
    assert c.verdict().startswith("Not enough data yet")


def test_newcombe_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II example: 56/70 - 48/80.
    low, high = Comparison(56, 70, 48, 80).interval()
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_large_sample_reference_values():
    # 300/10 000 against 230/10 000: z = 3.0817, p = 0.00206, CI [0.00255, 0.01148].
    c = Comparison(300, 10_000, 230, 10_000)
    z, p = c.z_test()
    assert (round(z, 4), round(p, 5)) == (3.0817, 0.00206)
    low, high = c.interval()
    assert (round(low, 5), round(high, 5)) == (0.00255, 0.01148)
    assert c.verdict().startswith("Reminders work")


def test_verdicts_in_plain_words():
    assert Comparison(30, 60, 10, 30).verdict().startswith("No clear difference yet")
    assert Comparison(10, 100, 40, 100).verdict().startswith("Held-out carts are recovered more")
    # 9 recovered in a group is not enough for the normal approximation.
    assert Comparison(9, 100, 40, 100).verdict().startswith("Not enough data yet")
    assert Comparison(0, 0, 0, 0).interval() is None
