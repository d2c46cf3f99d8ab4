"""app.common.units: one energy unit per column, SI op counts, durations and local times."""

from __future__ import annotations

import math
import time

import pytest

from app.common.units import (
    format_duration,
    format_energy,
    format_energy_uj,
    format_ops,
    format_percent,
    format_time,
)


@pytest.mark.parametrize(
    ("values", "unit", "scaled"),
    [
        ([0.1030, 0.0563], "nJ", [103.0, 56.3]),
        ([0.1030, 4.75], "µJ", [0.103, 4.75]),  # one unit for the column: the largest decides
        ([1.0], "µJ", [1.0]),
        ([999.0, 1.0], "µJ", [999.0, 1.0]),
        ([1000.0, 3.0], "mJ", [1.0, 0.003]),
        ([2.5e6], "J", [2.5]),
        ([0.0004], "pJ", [400.0]),
        ([0.0, 0.0], "µJ", [0.0, 0.0]),
        ([], "µJ", []),
    ],
)
def test_one_energy_unit_per_column(values, unit, scaled) -> None:
    got_unit, got = format_energy_uj(values)
    assert got_unit == unit
    assert got == pytest.approx(scaled)


def test_missing_energies_stay_missing_and_do_not_pick_the_unit() -> None:
    unit, scaled = format_energy_uj([None, math.nan, 0.25, math.inf])
    assert unit == "nJ" and scaled[0] is None and scaled[1] is None and scaled[3] is None
    assert scaled[2] == pytest.approx(250.0)


def test_format_energy_reads_one_value() -> None:
    assert format_energy(0.10304568) == "103 nJ"
    assert format_energy(4.7542656) == "4.754 µJ"
    assert format_energy(None) == "-"


@pytest.mark.parametrize(
    ("n", "unit", "text"),
    [
        (520379.2889, "SOPs", "520.4 k SOPs"),
        (19072, "MACs", "19.1 k MACs"),
        (952, "", "952"),
        (0, "MACs", "0 MACs"),
        (999.6, "", "1.0 k"),
        (999_960, "", "1.0 M"),
        (3.4e9, "", "3.4 G"),
        (28678, "", "28.7 k"),
        (None, "SOPs", "-"),
        (math.nan, "", "-"),
    ],
)
def test_op_counts_have_si_suffixes(n, unit, text) -> None:
    assert format_ops(n, unit) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "0.5 s"),
        (10.8, "11 s"),
        (42, "42 s"),
        (285, "4 min 45 s"),
        (240, "4 min"),
        (2 * 3600 + 7 * 60 + 10, "2 h 7 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (None, "-"),
        (-1, "-"),
    ],
)
def test_durations(seconds, text) -> None:
    assert format_duration(seconds) == text


def test_times_are_local_iso_minutes() -> None:
    ts = time.mktime((2026, 12, 4, 16, 20, 30, 0, 0, -1))
    assert format_time(ts) == "2026-12-04 16:20"
    assert format_time(None) == "-"


def test_percent() -> None:
    assert format_percent(0.2111) == "21.1 %"
    assert format_percent(None) == "-"


def test_one_energy_in_the_views_unit() -> None:
    from app.common.units import energy_title, unit_factor

    assert format_energy(0.10304568, unit="µJ") == "0.103 µJ"
    assert format_energy(4.7542656, unit="nJ") == "4754 nJ"
    assert format_energy(math.nan, unit="nJ") == "-"
    assert energy_title("nJ") == "energy (nJ)" and unit_factor("mJ") == 1e-3
    with pytest.raises(ValueError, match="unknown energy unit 'uJ'"):
        unit_factor("uJ")


def test_the_normalized_hypervolume_is_labelled_as_such() -> None:
    from app.common.units import HV_NORMALIZED_LABEL, format_hv_normalized

    # An en dash, as in every range.
    assert "normalized" in HV_NORMALIZED_LABEL and "0–1" in HV_NORMALIZED_LABEL
    assert format_hv_normalized(0.41234) == "0.412" and format_hv_normalized(None) == "-"
