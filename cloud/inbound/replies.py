"""Guardian SMS answers, pure: what a reply means and what to answer. No I/O, no clock.

The alert says 「回复1表示您正前往，回复2表示无法前往」 ("Reply 1 if you are going, 2 if you cannot").
A reply from a known guardian number goes to that guardian's most recent open-incident notification:
"1" (or 好/收到/OK/yes …) = "I'm going" (stops the escalation), "2" (不能/no …) = "can't — next
contact" (the ladder moves on), any other text is a message for the operator (length-capped). An
unknown number, or a guardian with no open incident, gets a polite answer and nothing else happens.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MESSAGE_MAX_CHARS = 500
_STRIP = " \t\r\n.,!?;:~。，！？；：、…~·\"'“”‘’()（）[]【】"

ACK_WORDS = frozenset(
    {
        "1",
        "好",
        "好的",
        "收到",
        "已收到",
        "知道了",
        "知悉",
        "已知悉",
        "明白",
        "ok",
        "okay",
        "yes",
        "y",
        "got it",
        "received",
    }
)


DECLINE_WORDS = frozenset(
    {"2", "不能", "不行", "去不了", "无法前往", "来不了", "没空", "no", "cannot", "can't", "cant", "busy"}
)


class ReplyIntent(StrEnum):
    ACKNOWLEDGE = "acknowledge"  # "1": I'm going
    DECLINE = "decline"  # "2": can't — next contact
    MESSAGE = "message"


class ReplyResult(StrEnum):
    """What handling a reply did (also the metric label and the API answer)."""

    ACKNOWLEDGED = "acknowledged"  # first acknowledgement of the incident by a guardian
    ALREADY_ACKNOWLEDGED = "already_acknowledged"  # another "1" for an answered incident
    DECLINED = "declined"  # "2": the ladder moves on to the next contact
    MESSAGE = "message"  # free text stored on the timeline
    UNKNOWN_SENDER = "unknown_sender"
    NO_OPEN_INCIDENT = "no_open_incident"
    DUPLICATE = "duplicate"  # the provider delivered the same message id again


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, surrounding punctuation and spaces removed."""
    return unicodedata.normalize("NFKC", text).strip().strip(_STRIP).lower()


def intent_of(text: str) -> ReplyIntent:
    word = normalize(text)
    if word in ACK_WORDS:
        return ReplyIntent.ACKNOWLEDGE
    return ReplyIntent.DECLINE if word in DECLINE_WORDS else ReplyIntent.MESSAGE


def capped(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """The message as stored and shown: control characters dropped, at most ``limit`` characters."""
    clean = "".join(ch for ch in text if ch in "\n" or unicodedata.category(ch)[0] != "C").strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class ReplyDecision:
    result: ReplyResult
    set_answered_at: bool  # stamp the incident's guardian_answered_at (SLA clock)
    timeline_type: str | None  # guardian_acknowledged | guardian_declined | guardian_message | None
    text: str  # what goes on the timeline ("" for an acknowledgement)


def decide(
    *, text: str, known_guardian: bool, has_open_incident: bool, already_answered: bool
) -> ReplyDecision:
    """What a reply does to the incident it was matched to."""
    if not known_guardian:
        return ReplyDecision(ReplyResult.UNKNOWN_SENDER, False, None, "")
    if not has_open_incident:
        return ReplyDecision(ReplyResult.NO_OPEN_INCIDENT, False, None, "")
    if intent_of(text) is ReplyIntent.ACKNOWLEDGE:
        result = ReplyResult.ALREADY_ACKNOWLEDGED if already_answered else ReplyResult.ACKNOWLEDGED
        return ReplyDecision(result, not already_answered, "guardian_acknowledged", "")
    if intent_of(text) is ReplyIntent.DECLINE:
        return ReplyDecision(ReplyResult.DECLINED, False, "guardian_declined", "")
    return ReplyDecision(ReplyResult.MESSAGE, False, "guardian_message", capped(text))


ANSWERS: dict[ReplyResult, dict[str, str]] = {
    ReplyResult.ACKNOWLEDGED: {
        "zh": "【安心】已收到：您正前往，谢谢。中心会继续跟进，如有进展会联系您。",
        "en": "[Anxin] Thank you: we noted that you are going. The care center follows up.",
    },
    ReplyResult.DECLINED: {
        "zh": "【安心】已收到，我们将联系下一位联系人，谢谢。",
        "en": "[Anxin] Understood, we are contacting the next person. Thank you.",
    },
    ReplyResult.MESSAGE: {
        "zh": "【安心】您的留言已转给值班员，谢谢。",
        "en": "[Anxin] Your message was passed to the operator on duty. Thank you.",
    },
    ReplyResult.NO_OPEN_INCIDENT: {
        "zh": "【安心】您的家人目前没有待处理的警情，谢谢关心。",
        "en": "[Anxin] There is no open alert for your family member right now. Thank you.",
    },
    ReplyResult.UNKNOWN_SENDER: {
        "zh": "【安心】本号码仅用于发送安心平台通知，无法处理您的回复。如需帮助请联系社区。",
        "en": "[Anxin] This number only sends Anxin alerts and cannot handle replies. "
        "Please contact your community.",
    },
}
ANSWERS[ReplyResult.ALREADY_ACKNOWLEDGED] = ANSWERS[ReplyResult.ACKNOWLEDGED]


def answer_text(result: ReplyResult, language: str | None) -> str:
    """The short confirmation sent back: the guardian's language, or both when the sender is unknown."""
    texts = ANSWERS.get(result, ANSWERS[ReplyResult.ACKNOWLEDGED])
    if language is None:
        return f"{texts['zh']}\n{texts['en']}"
    return texts["en"] if language.lower().startswith("en") else texts["zh"]
