"""Escalation policies, pure: which steps follow an unclaimed incident, and after how long.

A policy is a list of steps, each an action taken ``after_s`` seconds after the incident opened and,
when ``repeat_s`` is set, again every ``repeat_s`` seconds until a human owns the incident. The
default per severity follows the telecare target (97.5 % answered within 60 s): a P1 nobody claims
re-alerts every console in scope at 30 s, alerts the supervisor at 60 s and starts the guardian
ladder at 90 s. A subject's response plan may override the policy of any severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.intake import Severity

MAX_STEPS = 10
MAX_DELAY_S = 24 * 3600.0


class Action(StrEnum):
    REALERT_CONSOLES = "realert_consoles"  # every console in scope sounds again
    ALERT_SUPERVISOR = "alert_supervisor"  # the supervisors on duty are alerted
    START_LADDER = "start_ladder"  # the guardian ladder begins (cloud/escalation/ladder.py)


Delay = Annotated[float, Field(ge=0.01, le=MAX_DELAY_S, allow_inf_nan=False)]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    after_s: Delay
    repeat_s: Delay | None = None  # again every repeat_s until claimed; the ladder never repeats


class Policy(BaseModel):
    """Steps for an unclaimed incident, plus how long the ladder waits for each contact's answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: Annotated[tuple[Step, ...], Field(max_length=MAX_STEPS)] = ()
    ladder_wait_s: Delay = 180.0

    def step(self, index: int) -> Step:
        return self.steps[index]


P1_POLICY = Policy(
    steps=(
        Step(action=Action.REALERT_CONSOLES, after_s=30, repeat_s=30),
        Step(action=Action.ALERT_SUPERVISOR, after_s=60, repeat_s=120),
        Step(action=Action.START_LADDER, after_s=90),
    ),
    ladder_wait_s=180,
)
P2_POLICY = Policy(
    steps=(
        Step(action=Action.REALERT_CONSOLES, after_s=60, repeat_s=60),
        Step(action=Action.ALERT_SUPERVISOR, after_s=180, repeat_s=300),
        Step(action=Action.START_LADDER, after_s=300),
    ),
    ladder_wait_s=300,
)
P3_POLICY = Policy(
    steps=(
        Step(action=Action.REALERT_CONSOLES, after_s=300, repeat_s=300),
        Step(action=Action.ALERT_SUPERVISOR, after_s=900),
    )
)
P4_POLICY = Policy()

DEFAULT_POLICIES: dict[Severity, Policy] = {
    Severity.P1: P1_POLICY,
    Severity.P2: P2_POLICY,
    Severity.P3: P3_POLICY,
    Severity.P4: P4_POLICY,
}


def policy_for(
    severity: Severity,
    *,
    overrides: dict[Severity, Policy] | None = None,
    defaults: dict[Severity, Policy] | None = None,
) -> Policy:
    """The person's own policy for ``severity`` if their plan has one, else the center's default."""
    if overrides and severity in overrides:
        return overrides[severity]
    return (defaults or DEFAULT_POLICIES)[severity]


def center_policies(raw: Mapping[str, Mapping[str, Any]]) -> dict[Severity, Policy]:
    """The built-in policies with the center's own (``ANXIN_CLOUD_ESCALATION_POLICIES``) laid over them.

    Raises ``ValueError`` naming the severity when one does not validate.
    """
    policies = dict(DEFAULT_POLICIES)
    for key, value in raw.items():
        try:
            severity = Severity(key)
            policies[severity] = Policy.model_validate(value)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise ValueError(f"escalation_policies[{key!r}] is not a valid policy: {exc}") from exc
    return policies
