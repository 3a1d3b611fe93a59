"""Streaming fall detection from tri-axial acceleration (one instance per device).

:class:`FallScorer` finds impact peaks (|a| ≥ ``model.trigger_g``, the highest sample
within ±0.5 s) and, once 2 s of post-impact signal have arrived, scores each with the
logistic :class:`~edge.detection.fall_model.FallModel` over magnitude, free-fall,
orientation-change and stillness features. With a low-impact path
(``model.low_impact``) softer peaks, from its own trigger up to ``model.trigger_g``, are
scored by that path's model when the posture changed past its gate (slumps and slow
falls from sitting that never reach 2 g). :class:`FallDetector` wraps the scorer with
the decision (probability ≥ ``model.threshold``, then a refractory period) and emits
:class:`~edge.detection.events.FallEvent`. :class:`PeakThresholdDetector` is the naive
"peak |a| ≥ 3 g" baseline with the same interface.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from contracts import AccelBatch
from edge.detection.accel_stream import AccelStream
from edge.detection.events import AccelWindow, EventKind, Evidence, FallEvent
from edge.detection.fall_features import (
    FEATURE_NAMES,
    POST_END_S,
    PRE_START_S,
    SampleWindows,
    impact_features,
    is_impact_peak,
    orientation_change,
)
from edge.detection.fall_model import FallModel, load_default_model
from edge.detection.stream import DetectorSpec, Observed, Setup
from edge.detection.upright import BLOCK_S, FORGET_GAP_S, UprightEstimator, posture_veto, tilt_deg

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig

EVIDENCE_S = 2.0
# the upright learner lags the newest sample by up to pre + post window + one block
KEEP_S = PRE_START_S + POST_END_S + BLOCK_S + 1.0
FREEFALL_FEATURE = FEATURE_NAMES.index("freefall_s")
VELOCITY_FEATURE = FEATURE_NAMES.index("pre_impact_velocity_mps")
IMPACT_S_FEATURE = FEATURE_NAMES.index("impact_duration_s")
EXCESS_FEATURE = FEATURE_NAMES.index("log_impact_excess_g_s")
IMPACT = "impact"
LOW_IMPACT = "low_impact"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredImpact:
    """One scored impact peak at absolute sample ``index`` of the current stream
    segment. ``decided_ms`` is the time of the last sample the score
    needed (impact + 2 s): the earliest moment an alarm can be raised."""

    index: int
    impact_ms: int
    decided_ms: int
    probability: float
    peak_g: float
    orientation_change_deg: float
    features: tuple[float, ...]
    pre_tilt_deg: float | None = None
    post_tilt_deg: float | None = None
    veto: str = ""
    path: str = IMPACT


class FallScorer:
    """Scores every impact peak of one device's acceleration stream.

    With ``learn_upright`` (default) it also learns the wearer's upright direction
    from their gait (:class:`~edge.detection.upright.UprightEstimator`, blocks that
    end before the impact's pre-impact window only, so results do not depend on
    batching) and, once that is confident, marks impacts that absolute posture rules
    out (``veto``). Without a confident upright nothing changes."""

    def __init__(self, model: FallModel, *, learn_upright: bool = True) -> None:
        self.model = model
        self.stream = AccelStream(keep_s=KEEP_S)
        self.upright: UprightEstimator | None = UprightEstimator() if learn_upright else None
        self._segment = -1
        self._scan = 0
        self._learned = 0
        self._block = round(BLOCK_S * 50.0)
        self._win = SampleWindows.at_rate(50.0)

    def update(self, samples: NDArray[np.float64], t0_ms: int, rate_hz: float) -> list[ScoredImpact]:
        """Consume a batch ((n, 3) array in g, first-sample time, rate) and return the
        impacts whose scoring window completed within it."""
        st = self.stream
        prev_end_ms = st.time_ms(st.count - 1) if st.count else None
        if st.append(samples, t0_ms, rate_hz) == 0:
            return []
        if st.segment != self._segment:
            self._segment = st.segment
            self._scan = 0
            self._learned = 0
            self._block = max(2, round(BLOCK_S * st.rate_hz))
            self._win = SampleWindows.at_rate(st.rate_hz)
            gap_ms = st.time_ms(0) - prev_end_ms if prev_end_ms is not None else 0
            if self.upright is not None and gap_ms >= FORGET_GAP_S * 1000:
                self.upright.forget()
        win = self._win
        last = st.count - win.post_end  # last index whose post window is complete
        if last < self._scan:
            return []
        lo = st.local(self._scan)
        hits = np.flatnonzero(st.mag[lo : st.local(last) + 1] >= self.model.scan_g) + self._scan
        self._scan = last + 1
        out: list[ScoredImpact] = []
        for k in hits.tolist():
            local = st.local(k)
            if not is_impact_peak(st.mag, local, win.peak_half):
                continue
            peak = float(st.mag[local])
            model = self.model.path_for(peak)
            low = model is not self.model
            if low and self._near_hard_peak(local):
                continue  # the hard impact within 1 s is the event: the impact path judges it
            if low and orientation_change(st.acc, local, win) < model.min_orientation_change:
                continue  # a soft peak without a posture change (every step of a walk)
            feats = impact_features(st.acc, st.mag, local, st.rate_hz, win)
            pre_tilt, post_tilt, veto = self._posture(k, feats)
            out.append(
                ScoredImpact(
                    index=k,
                    impact_ms=st.time_ms(k),
                    decided_ms=st.time_ms(k + win.post_end - 1),
                    probability=model.probability(feats),
                    peak_g=peak,
                    orientation_change_deg=float(feats[2] * 90.0),
                    features=tuple(float(x) for x in feats),
                    pre_tilt_deg=pre_tilt,
                    post_tilt_deg=post_tilt,
                    veto=veto,
                    path=LOW_IMPACT if low else IMPACT,
                )
            )
        self._learn_until(self._scan - win.pre_start)
        return out

    def _near_hard_peak(self, local: int) -> bool:
        """True when |a| reaches the impact path's trigger within 1 s of the soft peak at
        ``local`` (a step or stumble just before a real impact must not take its alarm)."""
        st = self.stream
        reach = self._win.second_peak
        return bool(st.mag[max(0, local - reach) : local + reach + 1].max() >= self.model.trigger_g)

    def _learn_until(self, end: int) -> None:
        """Feed the upright learner every whole block ending at or before ``end``."""
        if self.upright is None:
            return
        st = self.stream
        n = self._block
        while self._learned + n <= end:
            lo = st.local(self._learned)
            if lo >= 0:
                self.upright.learn(st.acc[lo : lo + n], st.mag[lo : lo + n], st.rate_hz)
            self._learned += n

    def _posture(self, k: int, feats: NDArray[np.float64]) -> tuple[float | None, float | None, str]:
        """Pre/post-impact tilt from upright and the posture veto for the impact at
        absolute index ``k`` (``None, None, ''`` while the upright is not confident)."""
        win = self._win
        self._learn_until(k - win.pre_start)
        up = self.upright.upright if self.upright is not None else None
        if up is None:
            return None, None, ""
        st = self.stream
        local = st.local(k)
        pre = st.acc[max(0, local - win.pre_start) : max(1, local - win.pre_end)].mean(axis=0)
        post = st.acc[local + win.post_start : local + win.post_end].mean(axis=0)
        pre_tilt = tilt_deg(pre, up)
        post_tilt = tilt_deg(post, up)
        veto = posture_veto(
            pre_tilt,
            post_tilt,
            float(feats[FREEFALL_FEATURE]),
            float(feats[VELOCITY_FEATURE]),
            impact_s=float(feats[IMPACT_S_FEATURE]),
            impact_excess_g_s=math.exp(float(feats[EXCESS_FEATURE])),
        )
        return pre_tilt, post_tilt, veto


def select_alarms(
    hits: list[ScoredImpact],
    threshold: float,
    refractory_ms: int,
    last_alarm_ms: int | None = None,
    *,
    low_threshold: float | None = None,
) -> tuple[list[ScoredImpact], int | None]:
    """The decision rule: keep impacts with probability ≥ ``threshold`` (low-impact
    path: ≥ ``low_threshold``, default the same), no posture veto, and not within
    ``refractory_ms`` after the previous alarmed impact. Returns the alarms and the new
    last-alarm time (pure; the detector and the fitting script share it)."""
    alarms: list[ScoredImpact] = []
    low = threshold if low_threshold is None else low_threshold
    for hit in hits:
        if hit.probability < (low if hit.path == LOW_IMPACT else threshold) or hit.veto:
            continue
        if last_alarm_ms is not None and hit.impact_ms < last_alarm_ms + refractory_ms:
            continue
        last_alarm_ms = hit.impact_ms
        alarms.append(hit)
    return alarms, last_alarm_ms


class FallDetector:
    """Streaming fall detector for one device.

    >>> det = FallDetector("dev-1")
    >>> events = det.update(samples, t0_ms=1_700_000_000_000, rate_hz=50.0)

    An event is emitted when an impact's probability reaches ``model.threshold``;
    later impacts within ``refractory_s`` of an alarmed impact are ignored. The event
    carries the acceleration from 2 s before to 2 s after the impact. With
    ``learn_upright`` (default) the detector learns the wearer's upright from their
    walking and, once confident, drops impacts that started lying with no drop
    (turning over in bed) or ended upright after lying (getting up); until then, or
    with ``learn_upright=False``, it behaves exactly as without it.
    """

    def __init__(
        self,
        source_id: str,
        model: FallModel | None = None,
        *,
        refractory_s: float = 10.0,
        learn_upright: bool = True,
    ) -> None:
        self.source_id = source_id
        self.scorer = FallScorer(
            model if model is not None else load_default_model(), learn_upright=learn_upright
        )
        self._refractory_ms = round(refractory_s * 1000)
        self._last_alarm_ms: int | None = None

    def update(self, samples: NDArray[np.float64], t0_ms: int, rate_hz: float) -> list[FallEvent]:
        """Consume one batch and return the falls decided within it."""
        hits = self.scorer.update(samples, t0_ms, rate_hz)
        if not hits:
            return []
        model = self.scorer.model
        alarms, self._last_alarm_ms = select_alarms(
            hits,
            model.threshold,
            self._refractory_ms,
            self._last_alarm_ms,
            low_threshold=model.low_impact.threshold if model.low_impact is not None else None,
        )
        return [self._event(hit) for hit in alarms]

    def _event(self, hit: ScoredImpact) -> FallEvent:
        st = self.scorer.stream
        k = st.local(hit.index)
        half = round(EVIDENCE_S * st.rate_hz)
        lo = max(0, k - half)
        window = np.round(st.acc[lo : k + half], 3)
        accel = AccelWindow(
            t0_ms=st.time_ms(lo + st.start),
            rate_hz=st.rate_hz,
            samples=tuple((float(x), float(y), float(z)) for x, y, z in window),
        )
        return FallEvent(
            kind=EventKind.FALL,
            source_id=self.source_id,
            t_ms=hit.decided_ms,
            onset_ms=hit.impact_ms,
            reason="impact_then_posture_change" if hit.path == IMPACT else "soft_fall_then_posture_change",
            measures=(("probability", round(hit.probability, 4)), ("peak_g", round(hit.peak_g, 3))),
            evidence=Evidence(accel=accel),
            probability=hit.probability,
            peak_g=hit.peak_g,
            orientation_change_deg=hit.orientation_change_deg,
        )


class PeakThresholdDetector:
    """Baseline: alarm at every sample with |a| ≥ ``threshold_g`` (no confirmation),
    at most one alarm per ``refractory_s``."""

    def __init__(self, source_id: str, threshold_g: float = 3.0, *, refractory_s: float = 1.0) -> None:
        self.source_id = source_id
        self.threshold_g = threshold_g
        self.stream = AccelStream(keep_s=1.0)
        self._refractory_ms = round(refractory_s * 1000)
        self._last_alarm_ms: int | None = None

    def update(self, samples: NDArray[np.float64], t0_ms: int, rate_hz: float) -> list[FallEvent]:
        """Consume one batch and return the alarms raised within it."""
        st = self.stream
        n = st.append(samples, t0_ms, rate_hz)
        events: list[FallEvent] = []
        first = st.count - n
        for i in np.flatnonzero(st.mag[len(st.mag) - n :] >= self.threshold_g).tolist():
            t = st.time_ms(first + i)
            if self._last_alarm_ms is not None and t < self._last_alarm_ms + self._refractory_ms:
                continue
            self._last_alarm_ms = t
            peak = float(st.mag[len(st.mag) - n + i])
            events.append(
                FallEvent(
                    kind=EventKind.FALL,
                    source_id=self.source_id,
                    t_ms=t,
                    onset_ms=t,
                    reason="peak_above_threshold",
                    measures=(("peak_g", round(peak, 3)),),
                    probability=1.0,
                    peak_g=peak,
                    orientation_change_deg=0.0,
                )
            )
        return events


class FallStream:
    """The gateway's fall detector for one wearable: every acceleration batch, scored by the
    model of where the wearable is worn — the care plan's ``wearable_placement`` when the
    registry sets it, else the ``placement`` the batch declares (waist by default). A change
    of placement starts the detector over with that placement's model."""

    def __init__(self, setup: Setup) -> None:
        self.device_id = setup.device_id
        self.plan_placement = setup.config.placement
        self.detector = FallDetector(setup.device_id, setup.model)

    @property
    def placement(self) -> str:
        """The placement of the model in use."""
        return self.detector.scorer.model.placement

    def observe(self, message: Observed, t_ms: int) -> Sequence[FallEvent]:
        if not isinstance(message, AccelBatch):
            return ()
        placement = self.plan_placement or message.placement
        if placement != self.placement:
            self.detector = FallDetector(self.device_id, load_default_model(placement))
        samples = message.array()  # converted once per message, read-only
        return self.detector.update(samples, t_ms, float(message.rate_hz))

    def tick(self, t_ms: int) -> Sequence[FallEvent]:
        return ()

    def reconfigure(self, config: DetectorConfig) -> bool:
        """Take the plan's placement; the detector switches model at the next batch."""
        self.plan_placement = config.placement
        return False


SPEC = DetectorSpec("fall", FallStream)
