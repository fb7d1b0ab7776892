"""lax.erf_inv against 50-digit references (tests/erf_inv_reference.py),
eagerly and compiled, and its special values."""
import numpy as np
import pytest

import trax
from trax import lax

from erf_inv_reference import FLOAT32, FLOAT64

MODES = {"eager": lax.erf_inv, "jit": trax.jit(lax.erf_inv)}


def _ulp_errors(f, table, dtype):
    x, hi, lo = (np.array(c) for c in zip(*table))
    got = np.asarray(f(x.astype(dtype))).astype(np.float64)
    ulp = np.spacing(np.abs(hi).astype(dtype)).astype(np.float64)
    return x, np.abs((got - hi) - lo) / ulp


@pytest.mark.parametrize("mode", MODES)
def test_float64_within_two_ulp(mode):
    """Near +-1 too (1 - 2**-52 and the largest value below 1), where Newton
    steps on erf(y) - x lost all precision (up to 4.6e14 ulp)."""
    x, err = _ulp_errors(MODES[mode], FLOAT64, np.float64)
    assert err.max() <= 2.0, (x[np.argmax(err)], err.max())


@pytest.mark.parametrize("mode", MODES)
def test_float32_within_one_ulp_of_exact(mode):
    x, err = _ulp_errors(MODES[mode], FLOAT32, np.float32)
    assert err.max() <= 1.0, (x[np.argmax(err)], err.max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_special_values(mode, dtype):
    x = np.array([0.0, -0.0, 1.0, -1.0, 1.5, -2.0, np.inf, -np.inf, np.nan], dtype)
    got = np.asarray(MODES[mode](x))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got[:4], np.array([0.0, -0.0, np.inf, -np.inf], dtype))
    assert np.signbit(got[1]) and not np.signbit(got[0])
    assert np.isnan(got[4:]).all()
