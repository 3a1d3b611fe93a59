"""A small real MQTT 5 client (paho) for broker tests: what the broker answered, and what arrived.

Every call waits on a condition with a timeout (CONNACK, SUBACK, PUBACK, a message), never sleeps.
MQTT 5 because its acknowledgements carry reason codes: a refused publish gets PUBACK 0x87 (not
authorized) instead of a silent drop, so a test can assert the refusal itself.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

WAIT_S = 10.0
NOT_AUTHORIZED = 135  # MQTT 5 reason code 0x87
BAD_LOGIN = 134  # 0x86 bad user name or password
SUCCESS = 0


@dataclass
class Received:
    topic: str
    payload: bytes


@dataclass
class Probe:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    ca_file: Path | None = None
    received: list[Received] = field(default_factory=list)
    changed: threading.Condition | None = None  # share one between probes to wait on all of them
    protocol: int = mqtt.MQTTv5  # MQTTv311 for amqtt (no reason codes: a refused publish is dropped)

    def __post_init__(self) -> None:
        self._changed = self.changed or threading.Condition()
        self._connack: int | None = None
        self._subacks: dict[int, list[int]] = {}
        self._pubacks: dict[int, int] = {}
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id or (self.username or "anonymous-probe"),
            protocol=self.protocol,
        )
        if self.username is not None:
            self.client.username_pw_set(self.username, self.password)
        if self.ca_file is not None:
            self.client.tls_set_context(ssl.create_default_context(cafile=str(self.ca_file)))
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    # -- paho callbacks (its thread) -----------------------------------------------------------------
    def _set(self, fn: Callable[[], None]) -> None:
        with self._changed:
            fn()
            self._changed.notify_all()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self._set(lambda: setattr(self, "_connack", reason.value))

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if self._connack is None:  # refused before or instead of a CONNACK we saw
            self._set(lambda: setattr(self, "_connack", reason.value or NOT_AUTHORIZED))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        self._set(lambda: self._subacks.__setitem__(mid, [r.value for r in reasons]))

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        self._set(lambda: self._pubacks.__setitem__(mid, reason.value))

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._set(lambda: self.received.append(Received(msg.topic, msg.payload)))

    # -- what tests call -----------------------------------------------------------------------------
    def _wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, WAIT_S), f"no {what} within {WAIT_S} s"

    def connect(self) -> int:
        """Connect; the CONNACK reason code (0 = accepted)."""
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        self._wait(lambda: self._connack is not None, "CONNACK")
        assert self._connack is not None
        return self._connack

    def subscribe(self, topic_filter: str) -> int:
        """Subscribe at QoS 1; the SUBACK reason code (1 = granted QoS 1, 135 = not authorized)."""
        _, mid = self.client.subscribe(topic_filter, qos=1)
        self._wait(lambda: mid in self._subacks, "SUBACK")
        return self._subacks[mid][0]

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1; the PUBACK reason code (0 = accepted, 135 = not authorized)."""
        mid = self.client.publish(topic, payload, qos=1).mid
        self._wait(lambda: mid in self._pubacks, "PUBACK")
        return self._pubacks[mid]

    def wait_until(self, predicate: Callable[[], bool], what: str = "condition") -> None:
        self._wait(predicate, what)

    def wait_for(self, predicate: Callable[[Received], bool]) -> Received:
        self._wait(lambda: any(predicate(r) for r in self.received), "matching message")
        return next(r for r in self.received if predicate(r))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
