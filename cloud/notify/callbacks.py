"""Where the providers call us back: one place for every webhook path (the routes import these too)."""

from __future__ import annotations

from dataclasses import dataclass

TWILIO = "/api/v1/notify/twilio"
SMS_INBOUND = f"{TWILIO}/inbound"
SMS_STATUS = f"{TWILIO}/status"
VOICE = f"{TWILIO}/voice"  # the ladder call's TwiML: the alarm text and a one-digit <Gather>
VOICE_GATHER = f"{TWILIO}/voice/gather"  # the digit pressed
VOICE_STATUS = f"{TWILIO}/voice/status"  # completed | busy | no-answer | failed | canceled
BRIDGE = f"{TWILIO}/bridge"  # click-to-call: the operator answered, dial the target
BRIDGE_DIALED = f"{TWILIO}/bridge/dialed"  # how the target leg ended (<Dial action>)
BRIDGE_STATUS = f"{TWILIO}/bridge/status"  # how the operator's leg ended
ALIYUN = "/api/v1/notify/aliyun"
ALIYUN_REPORT = f"{ALIYUN}/report"  # SmsReport: delivery reports
ALIYUN_UP = f"{ALIYUN}/up"  # SmsUp: the recipient's answers


@dataclass(frozen=True, slots=True)
class TwilioPaths:
    """The absolute webhook URLs Twilio is given (and signs): ``public_url`` + path."""

    public_url: str

    def _url(self, path: str) -> str:
        return self.public_url.rstrip("/") + path

    @property
    def sms_status(self) -> str:
        return self._url(SMS_STATUS)

    @property
    def voice(self) -> str:
        return self._url(VOICE)

    @property
    def voice_gather(self) -> str:
        return self._url(VOICE_GATHER)

    @property
    def voice_status(self) -> str:
        return self._url(VOICE_STATUS)

    @property
    def bridge(self) -> str:
        return self._url(BRIDGE)

    @property
    def bridge_dialed(self) -> str:
        return self._url(BRIDGE_DIALED)

    @property
    def bridge_status(self) -> str:
        return self._url(BRIDGE_STATUS)
