"""Initialisers: shapes, seeding, and the spread each rule promises."""

import numpy as np
import pytest

from bpstudio.core.initializers import INITIALIZERS, fans, initialize

SHAPE = (200, 300)  # fan_in 200, fan_out 300: 60,000 draws, enough for 2% tolerances


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_seeded_and_shaped(name):
    a = initialize(name, SHAPE, 0.5, np.random.default_rng(4))
    b = initialize(name, SHAPE, 0.5, np.random.default_rng(4))
    assert a.shape == SHAPE and a.dtype == np.float64 and np.array_equal(a, b)
    if name not in ("zeros", "constant"):
        assert not np.array_equal(a, initialize(name, SHAPE, 0.5, np.random.default_rng(5)))


@pytest.mark.parametrize("name, bound, std", [
    ("uniform", 0.5, 0.5 / np.sqrt(3)),
    ("normal", None, 0.5),
    ("xavier_uniform", np.sqrt(6 / 500), np.sqrt(2 / 500)),
    ("xavier_normal", None, np.sqrt(2 / 500)),
    ("he_uniform", np.sqrt(6 / 200), np.sqrt(2 / 200)),
    ("he_normal", None, np.sqrt(2 / 200)),
])
def test_spread(name, bound, std):
    w = initialize(name, SHAPE, 0.5, np.random.default_rng(0))
    assert abs(w.mean()) < 0.02 * std  # the standard error is 0.004 std
    assert w.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_zeros_constant_and_fans():
    assert not initialize("zeros", (3,), 0.5, np.random.default_rng()).any()
    assert initialize("constant", (2, 2), 0.25, np.random.default_rng()).tolist() == [[0.25] * 2] * 2
    assert fans((200, 300)) == (200, 300) and fans((7,)) == (7, 7) and fans(()) == (1, 1)
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'"):
        initialize("glorot", (2,), 1.0, np.random.default_rng())
