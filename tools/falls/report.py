"""Fall figures overall, per age group and per subject (the worst subject, not only the
mean), as JSON-ready dicts and as text lines for the bench."""

from __future__ import annotations

from collections.abc import Sequence

from tools.falls.scoring import FallScores, TrialAlarms, score_trials, wilson_interval

# the manifests' age groups: SisFall's adults are 19–30 years old, its elderly 60–75; FallAllD
# carries no ages (all "adult", volunteers of working age)
GROUP_NAMES = {"adult": "young", "elderly": "older"}


def by(results: Sequence[TrialAlarms], key: str) -> dict[str, list[TrialAlarms]]:
    """Results split by a trial attribute (``subject`` or ``group``)."""
    out: dict[str, list[TrialAlarms]] = {}
    for r in results:
        out.setdefault(str(getattr(r.trial, key)), []).append(r)
    return dict(sorted(out.items()))


def worst_subjects(results: Sequence[TrialAlarms]) -> dict[str, object]:
    """The subject with the lowest sensitivity (among those with falls) and the one
    with the most false alarms per hour (among those with activities)."""
    per = {s: score_trials(rs) for s, rs in by(results, "subject").items()}
    with_falls = [(sc.sensitivity, s) for s, sc in per.items() if sc.falls]
    with_adl = [(sc.false_alarms_per_hour, s) for s, sc in per.items() if sc.activities]
    out: dict[str, object] = {}
    if with_falls:
        sens, subject = min(with_falls)
        sc = per[subject]
        out["lowest_sensitivity"] = {
            "subject": subject,
            "sensitivity": sens,
            "falls": sc.falls,
            "detected": sc.detected,
        }
    if with_adl:
        fa, subject = max(with_adl)
        sc = per[subject]
        out["most_false_alarms"] = {
            "subject": subject,
            "false_alarms_per_hour": fa,
            "false_alarms": sc.false_alarms,
            "activity_hours": sc.activity_hours,
        }
    return out


def group_report(results: Sequence[TrialAlarms]) -> dict[str, object]:
    """Overall figures, each age group's, the worst subjects, and every subject's."""
    out: dict[str, object] = score_trials(list(results)).as_dict()
    out["groups"] = {
        GROUP_NAMES.get(g, g): {**score_trials(rs).as_dict(), "subjects": len({r.trial.subject for r in rs})}
        for g, rs in by(results, "group").items()
    }
    out["worst_subject"] = worst_subjects(results)
    out["subjects"] = {
        s: {
            "group": GROUP_NAMES.get(rs[0].trial.group, rs[0].trial.group),
            "falls": sc.falls,
            "detected": sc.detected,
            "activity_trials": sc.activities,
            "false_alarms": sc.false_alarms,
            "activity_hours": sc.activity_hours,
        }
        for s, rs in by(results, "subject").items()
        for sc in (score_trials(rs),)
    }
    return out


def line(scores: FallScores) -> str:
    """One line of figures with 95 % Wilson intervals."""
    se_lo, se_hi = wilson_interval(scores.detected, scores.falls)
    sp_lo, sp_hi = wilson_interval(scores.activities - scores.false_alarm_trials, scores.activities)
    latency = (
        f"latency p50 {scores.latency_percentile(50):.2f} s p95 {scores.latency_percentile(95):.2f} s"
        if scores.latencies_s
        else "latency n/a (no fall with a labelled onset: any alarm in a fall trial counts)"
    )
    return (
        f"sensitivity {scores.sensitivity:.3f} [{se_lo:.3f}, {se_hi:.3f}] "
        f"({scores.detected}/{scores.falls})  "
        f"specificity {scores.specificity:.4f} [{sp_lo:.3f}, {sp_hi:.3f}]  "
        f"false alarms/h {scores.false_alarms_per_hour:.2f} "
        f"({scores.false_alarms} in {scores.activity_hours:.2f} h)  "
        f"{latency}"
    )


def text(results: Sequence[TrialAlarms], indent: str = "  ") -> str:
    """Overall, per group and worst-subject lines, plus the activities behind errors."""
    overall = score_trials(list(results))
    d = overall.as_dict()
    lines = [
        indent + line(overall),
        f"{indent}  false positives by activity: {d['false_positives_by_activity']}",
        f"{indent}  missed falls by activity: {d['missed_by_activity']}",
    ]
    for g, rs in by(results, "group").items():
        n = len({r.trial.subject for r in rs})
        lines.append(f"{indent}  {GROUP_NAMES.get(g, g)} ({n} subjects): {line(score_trials(rs))}")
    worst = worst_subjects(results)
    low = worst.get("lowest_sensitivity")
    most = worst.get("most_false_alarms")
    if isinstance(low, dict):
        lines.append(
            f"{indent}  worst subject, sensitivity: {low['subject']} {low['sensitivity']:.3f} "
            f"({low['detected']}/{low['falls']})"
        )
    if isinstance(most, dict):
        lines.append(
            f"{indent}  worst subject, false alarms: {most['subject']} {most['false_alarms_per_hour']:.2f}/h "
            f"({most['false_alarms']} in {most['activity_hours']:.2f} h)"
        )
    return "\n".join(lines)
