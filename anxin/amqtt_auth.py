"""amqtt plugins that give the demo's embedded fallback broker the same logins and ACL as Mosquitto.

``RegistryLogins`` checks a client's password against the hash in the password file ``anxin broker sync``
wrote (the same ``$7$`` hashes Mosquitto reads); ``RegistryAcl`` applies the same rules as the synced
``acl`` (:func:`broker.auth_files.acl_allows`). Loaded by class path from ``AmqttBroker(plugins=…)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from anxin.broker_sync import existing_hashes
from broker.auth_files import acl_allows
from cloud.registry.secrets import matches

LOGINS = "anxin.amqtt_auth.RegistryLogins"
ACL = "anxin.amqtt_auth.RegistryAcl"


class RegistryLogins(BaseAuthPlugin):  # type: ignore[misc]  # amqtt is untyped
    @dataclass
    class Config:
        password_file: str = ""

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self._hashes = existing_hashes(Path(self.config.password_file))

    async def authenticate(self, *, session: Session) -> bool | None:
        hashed = self._hashes.get(session.username or "")
        return bool(hashed and session.password is not None and matches(session.password, hashed))


class RegistryAcl(BaseTopicPlugin):  # type: ignore[misc]
    @dataclass
    class Config:
        gateways: list[str] = field(default_factory=list)

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        if session is None or session.username is None or topic is None:
            return False
        return acl_allows(
            session.username,
            gateway=session.username in self.config.gateways,
            write=action == Action.PUBLISH,
            topic=topic,
        )


def amqtt_plugins(password_file: Path, gateways: list[str]) -> dict[str, dict[str, object]]:
    """The ``plugins`` section for :class:`broker.runner.AmqttBroker`."""
    return {LOGINS: {"password_file": str(password_file)}, ACL: {"gateways": gateways}}
