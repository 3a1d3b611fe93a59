"""The smart service pack's detectors: learned routine, night door, hazards and a muted stuck detector."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edge.detection.errors import OutOfOrderError
from edge.detection.events import EventKind, Severity
from edge.detection.home import HomeConfig, HomeEvent, HomeMonitor, SensorInfo

CST = timezone(timedelta(hours=8))
DAY0 = datetime(2026, 3, 2, tzinfo=CST)  # a Monday, local midnight
MIN = 60_000
HUB = "hub-0001"
SENSORS = {
    s.sensor_id: s
    for s in (
        SensorInfo(sensor_id="hub-0001-smoke", kind="smoke_detector", room="kitchen"),
        SensorInfo(sensor_id="hub-0001-gas", kind="gas_detector", room="kitchen"),
        SensorInfo(sensor_id="hub-0001-water", kind="water_leak", room="bathroom"),
        SensorInfo(sensor_id="hub-0001-door", kind="door_contact", room="entrance"),
        SensorInfo(sensor_id="hub-0001-pir-bed", kind="motion_sensor", room="bedroom"),
        SensorInfo(sensor_id="hub-0001-pir-kitchen", kind="motion_sensor", room="kitchen"),
        SensorInfo(sensor_id="hub-0001-cord", kind="pull_cord", room="bathroom"),
    )
}


def at(day: int, hhmm: str) -> int:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return int((DAY0 + timedelta(days=day, hours=hours, minutes=minutes)).timestamp() * 1000)


def monitor(**config: int | float | None) -> HomeMonitor:
    return HomeMonitor(HUB, SENSORS, HomeConfig(**config))  # type: ignore[arg-type]


def live_day(
    home: HomeMonitor, day: int, up: str, *, until: str = "21:30", gets_up: bool = True
) -> list[HomeEvent]:
    """Motion reports every 5 min from 00:05 to ``until``: still in the bedroom before ``up``, then the
    kitchen every interval (or, with ``gets_up=False``, nobody moving at all)."""
    events: list[HomeEvent] = []
    t, end, up_ms = at(day, "00:05"), at(day, until), at(day, up)
    while t <= end:
        if t < up_ms or not gets_up:
            events += home.motion(t, "hub-0001-pir-bed", 0, 300)
        else:
            events += home.motion(t, "hub-0001-pir-kitchen", 6, 300)
        t += 5 * MIN
    return events


def test_nobody_up_is_raised_against_the_learned_time_and_explained() -> None:
    home = monitor()
    for day, up in enumerate(["06:40", "06:45", "06:35", "06:50", "06:40", "06:45", "06:40"]):
        assert live_day(home, day, up) == [], f"day {day} is a normal day"
    assert home.routine.learned_days == 7
    usual, learned = home.routine.usually_up_by()
    assert learned and at(0, "06:45") <= at(0, "00:00") + usual * MIN <= at(0, "06:50")
    events = live_day(home, 7, "12:00", gets_up=False, until="09:00")
    assert [e.kind for e in events] == [EventKind.INACTIVITY]
    event = events[0]
    assert event.severity is Severity.P3
    # raised within 60 min of the usual start (the learned time + 20 min of grace, at a 5-min report)
    assert at(7, "07:05") <= event.t_ms <= at(7, "07:15")
    assert event.text_en.startswith("no movement since 21:30; usually up by 06:")
    assert "平时06:" in event.text_zh and "前起床" in event.text_zh
    assert event.reason == "not_up_by_usual_time"


def test_before_learning_the_care_plan_wake_time_is_used_with_a_wider_grace() -> None:
    home = monitor(wake_min=7 * 60)
    events = live_day(home, 0, "12:00", gets_up=False, until="09:00")
    assert len(events) == 1
    assert events[0].t_ms == at(0, "08:30")  # 07:00 + 90 min while the routine is unknown
    assert "care plan: up by 07:00" in events[0].text_en


def test_a_care_plan_override_replaces_the_learned_time() -> None:
    home = monitor(usually_up_by_min=9 * 60)
    for day in range(6):
        live_day(home, day, "06:30")
    events = live_day(home, 6, "12:00", gets_up=False, until="10:00")
    assert [e.t_ms for e in events] == [at(6, "09:20")]  # 09:00 + the 20 min grace


def test_no_inactivity_while_the_person_is_out_or_the_hub_is_silent() -> None:
    home = monitor()
    live_day(home, 0, "06:30")
    # day 1: up at 06:30, goes out at 08:00 (door), nobody moves inside until 15:00
    events = live_day(home, 1, "06:30", until="08:00")
    events += home.door(at(1, "08:00") + 30_000, "hub-0001-door", is_open=True)
    events += home.door(at(1, "08:00") + 60_000, "hub-0001-door", is_open=False)
    t = at(1, "08:05")
    while t < at(1, "15:00"):
        events += home.motion(t, "hub-0001-pir-kitchen", 0, 300)
        t += 5 * MIN
    assert events == []
    # day 2: the hub stops reporting at 05:00 (device silent, not a person lying still)
    home.motion(at(2, "05:00"), "hub-0001-pir-bed", 0, 300)
    assert home.tick(at(2, "11:00")) == []


def test_back_through_the_door_and_then_still_is_watched_again() -> None:
    home = monitor()
    for day in range(6):
        live_day(home, day, "06:40")
    events = home.door(at(6, "02:00"), "hub-0001-door", is_open=True)  # out at night
    events += home.door(at(6, "02:00") + 20_000, "hub-0001-door", is_open=False)
    t = at(6, "02:05")
    while t < at(6, "04:00"):
        events += home.motion(t, "hub-0001-pir-bed", 0, 300)
        t += 5 * MIN
    events += home.door(at(6, "04:00"), "hub-0001-door", is_open=True)  # back in, then lies still
    events += home.door(at(6, "04:00") + 20_000, "hub-0001-door", is_open=False)
    t = at(6, "04:05")
    while t < at(6, "08:00"):
        events += home.motion(t, "hub-0001-pir-bed", 0, 300)
        t += 5 * MIN
    assert [e.kind for e in events] == [EventKind.NIGHT_WANDERING, EventKind.INACTIVITY]
    assert events[1].reason == "not_up_by_usual_time" and events[1].t_ms <= at(6, "07:20")


def test_a_long_quiet_spell_in_the_day_is_inactivity() -> None:
    home = monitor()
    live_day(home, 0, "07:00")
    events = live_day(home, 1, "07:00", until="10:00")
    t = at(1, "10:05")
    while t < at(1, "14:00") and not events:
        events += home.motion(t, "hub-0001-pir-kitchen", 0, 300)
        t += 5 * MIN
    assert [e.reason for e in events] == ["no_movement_beyond_usual"]
    assert events[0].t_ms == at(1, "13:00")  # the default 3 h before the spells are learned
    assert events[0].text_en.startswith("no movement since 10:00 (3 h 00 min)")


def test_door_left_open_at_night_is_p3_and_a_night_exit_with_no_return_is_p2() -> None:
    home = monitor()
    events = home.door(at(0, "23:40"), "hub-0001-door", is_open=True)
    t = at(0, "23:45")
    while t <= at(1, "00:10"):
        events += home.motion(t, "hub-0001-pir-bed", 0, 300)
        t += 5 * MIN
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.DOOR_OPEN_NIGHT, EventKind.NIGHT_WANDERING]
    assert events[0].t_ms == at(0, "23:50") and events[0].severity is Severity.P3
    assert events[1].t_ms == at(0, "23:55") and events[1].severity is Severity.P2
    assert events[1].room == "entrance" and events[1].sensor_id == "hub-0001-door"
    assert "23:40" in events[1].text_en


def test_coming_back_through_the_door_after_a_night_exit_is_not_another_exit() -> None:
    home = monitor()
    events = home.door(at(0, "01:00"), "hub-0001-door", is_open=True)
    events += home.door(at(0, "01:01"), "hub-0001-door", is_open=False)
    events += home.tick(at(0, "01:20"))
    assert [e.kind for e in events] == [EventKind.NIGHT_WANDERING]
    back = home.door(at(0, "03:00"), "hub-0001-door", is_open=True)
    back += home.door(at(0, "03:01"), "hub-0001-door", is_open=False)
    back += home.tick(at(0, "04:00"))  # back in bed, too still for the PIR
    assert back == []


def test_a_night_door_followed_by_movement_inside_is_not_wandering() -> None:
    home = monitor()
    events = home.door(at(0, "02:00"), "hub-0001-door", is_open=True)
    events += home.door(at(0, "02:01"), "hub-0001-door", is_open=False)
    events += home.motion(at(0, "02:05"), "hub-0001-pir-bed", 0, 300)
    events += home.motion(at(0, "02:10"), "hub-0001-pir-bed", 3, 300)  # back in bed
    events += home.tick(at(0, "03:00"))
    assert events == []
    # the same in the day is nobody's business
    assert home.door(at(0, "10:00"), "hub-0001-door", is_open=True) == []
    assert home.tick(at(0, "11:00")) == []


def test_smoke_and_gas_are_p1_at_once_water_is_p2_and_each_names_sensor_and_room() -> None:
    home = monitor()
    (smoke,) = home.hazard(at(0, "12:00"), "hub-0001-smoke", "smoke", alarm=True)
    assert (smoke.kind, smoke.severity, smoke.t_ms) == (EventKind.SMOKE, Severity.P1, at(0, "12:00"))
    assert (smoke.sensor_id, smoke.room) == ("hub-0001-smoke", "kitchen")
    assert "Smoke alarm in the kitchen at 12:00" in smoke.text_en and "烟雾报警" in smoke.text_zh
    (water,) = home.hazard(at(0, "12:01"), "hub-0001-water", "water", alarm=True)
    assert (water.kind, water.severity, water.room) == (EventKind.WATER_LEAK, Severity.P2, "bathroom")
    # the same alarm re-reported without a clear is not a new hazard
    assert home.hazard(at(0, "12:02"), "hub-0001-smoke", "smoke", alarm=True) == []


def stuck(home: HomeMonitor, sensor: str, hazard: str, start: int, times: int) -> list[HomeEvent]:
    """A detector that alarms for 30 s every 4 minutes."""
    events: list[HomeEvent] = []
    for n in range(times):
        t = start + n * 4 * MIN
        events += home.hazard(t, sensor, hazard, alarm=True)
        events += home.hazard(t + 30_000, sensor, hazard, alarm=False)
    return events


def test_a_stuck_detector_is_muted_after_its_first_alarm_into_one_sensor_fault() -> None:
    home = monitor()
    events = stuck(home, "hub-0001-gas", "gas", at(0, "14:00"), 12)
    assert [e.kind for e in events] == [EventKind.GAS, EventKind.SENSOR_FAULT]
    fault = events[1]
    assert fault.severity is Severity.P3 and fault.reason == "repeated_alarms_muted"
    assert fault.sensor_id == "hub-0001-gas" and fault.room == "kitchen"
    assert home.hazards.muted("hub-0001-gas")
    # an hour of quiet lifts the mute: the next alarm is a hazard again
    later = at(0, "14:00") + 12 * 4 * MIN + 61 * MIN
    assert [e.kind for e in home.hazard(later, "hub-0001-gas", "gas", alarm=True)] == [EventKind.GAS]


@pytest.mark.parametrize("corroboration", ["pull_cord", "other_sensor", "motion_burst"])
def test_a_muted_detector_still_raises_p1_when_something_else_agrees(corroboration: str) -> None:
    home = monitor()
    for day in range(3):  # a few days of ordinary motion: the home's usual busiest interval
        live_day(home, day, "07:00")
    events = stuck(home, "hub-0001-smoke", "smoke", at(3, "15:00"), 3)
    assert [e.kind for e in events] == [EventKind.SMOKE, EventKind.SENSOR_FAULT]
    t = at(3, "15:08") + 60_000  # a minute after the third (muted) alarm
    if corroboration == "pull_cord":
        found = home.pull_cord(t, "hub-0001-cord")
    elif corroboration == "other_sensor":
        found = home.hazard(t, "hub-0001-gas", "gas", alarm=True)
    else:
        found = home.motion(t, "hub-0001-pir-kitchen", 40, 300)
    smoke = [e for e in found if e.kind is EventKind.SMOKE]
    assert len(smoke) >= 1, found
    assert smoke[0].severity is Severity.P1 and smoke[0].reason.startswith("smoke_corroborated_by_")
    assert smoke[0].room == "kitchen"


def test_a_muted_alarm_arriving_after_the_corroboration_is_raised_too() -> None:
    home = monitor()
    stuck(home, "hub-0001-smoke", "smoke", at(0, "15:00"), 2)
    home.pull_cord(at(0, "15:09"), "hub-0001-cord")
    events = home.hazard(at(0, "15:12"), "hub-0001-smoke", "smoke", alarm=True)
    assert [(e.kind, e.reason) for e in events] == [(EventKind.SMOKE, "smoke_corroborated_by_pull_cord")]


def test_sensor_battery_and_tamper_are_raised_once_per_transition() -> None:
    home = monitor()
    t = at(0, "10:00")
    first = home.sensor_status(t, "hub-0001-water", low_battery=True, tamper=False, battery_pct=9)
    again = home.sensor_status(t + MIN, "hub-0001-water", low_battery=True, tamper=False, battery_pct=8)
    tamper = home.sensor_status(
        t + 2 * MIN, "hub-0001-smoke", low_battery=False, tamper=True, battery_pct=None
    )
    assert [e.kind for e in first] == [EventKind.LOW_BATTERY] and again == []
    assert [(e.kind, e.reason) for e in tamper] == [(EventKind.SENSOR_FAULT, "sensor_tamper")]


def test_time_never_goes_back() -> None:
    home = monitor()
    home.motion(at(0, "10:00"), "hub-0001-pir-kitchen", 1, 300)
    with pytest.raises(OutOfOrderError):
        home.tick(at(0, "09:00"))
