"""Signals look like bodies and streets: fall impacts, walking cadence, heart-rate variability, GPS speeds."""

from __future__ import annotations

import itertools

import numpy as np

from contracts import DeviceKind, Location
from firmware_sim.models import build_device
from firmware_sim.models.child import ChildMonitor
from firmware_sim.signals.accel import RATE_HZ, AccelSynth, Activity, magnitude
from firmware_sim.signals.gps import from_latlon
from firmware_sim.signals.vitals import Episode, VitalsSynth

MONDAY_0000_CST = 1_772_380_800_000


def test_fall_has_free_fall_impact_3_to_8_g_then_stillness() -> None:
    for seed in range(20):
        rng = np.random.default_rng(seed)
        synth = AccelSynth(rng)
        peak = float(rng.uniform(3.0, 8.0))
        synth.queue_fall(peak)
        samples = np.vstack([synth.batch(Activity.LYING) for _ in range(6)])
        mag = magnitude(samples)
        i = int(np.argmax(mag))
        assert 3.0 <= mag[i] <= 8.0 and abs(mag[i] - peak) < 1e-6
        assert mag[max(0, i - 25) : i].min() < 0.6  # free fall just before
        still = mag[i + 2 * RATE_HZ : i + 4 * RATE_HZ]
        assert still.std() < 0.03 and abs(still.mean() - 1.0) < 0.05
        lying = samples[i + 2 * RATE_HZ :].mean(axis=0)
        assert abs(lying[1]) < 0.3  # gravity no longer on the vertical axis


def test_walking_cadence_is_about_1_8_hz() -> None:
    synth = AccelSynth(np.random.default_rng(7))
    mag = magnitude(np.vstack([synth.batch(Activity.WALK) for _ in range(20)]))
    spectrum = np.abs(np.fft.rfft(mag - mag.mean()))
    freqs = np.fft.rfftfreq(len(mag), 1 / RATE_HZ)
    dominant = freqs[int(np.argmax(spectrum[1:])) + 1]
    assert 1.5 <= dominant <= 2.1
    assert 0.1 < mag.std() < 0.4  # the recordings show ≈ 0.2 g


def test_sitting_is_quiet_and_upright() -> None:
    synth = AccelSynth(np.random.default_rng(1))
    mag = magnitude(synth.batch(Activity.SIT, 500))
    assert mag.std() < 0.05 and abs(mag.mean() - 1.0) < 0.05


def test_heart_rate_varies_plausibly_and_follows_activity() -> None:
    synth = VitalsSynth(np.random.default_rng(5))
    sitting = [synth.reading(Activity.SIT, worn=True).hr_bpm for _ in range(120)]
    values = np.array([v for v in sitting if v is not None], dtype=float)
    assert 1.5 < values.std() < 15 and 45 < values.mean() < 100
    stairs = [synth.reading(Activity.STAIRS, worn=True).hr_bpm for _ in range(30)]
    assert np.nanmean([v for v in stairs if v is not None]) > values.mean() + 10
    high = [synth.reading(Activity.SIT, worn=True, episode=Episode.HR_HIGH).hr_bpm for _ in range(10)]
    assert min(v for v in high[3:] if v is not None) > 100
    low = [synth.reading(Activity.SIT, worn=True, episode=Episode.SPO2_LOW).spo2_pct for _ in range(10)]
    assert max(v for v in low if v is not None) <= 90
    off = synth.reading(Activity.SIT, worn=False)
    assert off.hr_bpm is None and off.spo2_pct is None


def test_child_gps_speeds_and_school_day() -> None:
    child = build_device(
        "kid-0001", DeviceKind.CHILD_MONITOR, subject_id="C001", seed=2, start_ms=MONDAY_0000_CST
    )
    assert isinstance(child, ChildMonitor)
    outs = child.step(MONDAY_0000_CST + 12 * 3_600_000)
    at_noon = child.position(MONDAY_0000_CST + 12 * 3_600_000)[0]
    assert child.school.contains(at_noon)
    outs += child.step(MONDAY_0000_CST + 22 * 3_600_000)
    at_night = child.position(MONDAY_0000_CST + 22 * 3_600_000)[0]
    assert child.home.contains(at_night)
    outs += child.step(MONDAY_0000_CST + 24 * 3_600_000)
    fixes = [o.message for o in outs if isinstance(o.message, Location)]
    assert 1300 < len(fixes) < 1500  # one a minute
    gnss = [f for f in fixes if f.source == "gnss"]
    for a, b in itertools.pairwise(gnss):
        dt = (b.ts - a.ts) / 1000
        if dt <= 61:
            speed = from_latlon(a.lat, a.lon).distance(from_latlon(b.lat, b.lon)) / dt
            assert speed < 12.0  # a walking child or a car in town, plus a few metres of jitter
    assert any(f.speed_mps and f.speed_mps > 0.8 for f in fixes)
