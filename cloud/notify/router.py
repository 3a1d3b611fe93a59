"""The notifier that picks a provider per number: SMS to a routed prefix (``+86`` → Aliyun) goes to that
provider, everything else — and every voice call — to the default (Twilio). It is itself a ``Notifier``:
the outbox and the ladder do not know there is more than one provider."""

from __future__ import annotations

from collections.abc import Mapping

from cloud.notify.port import Notifier


class RoutingNotifier:
    def __init__(self, *, default: Notifier, sms_routes: Mapping[str, Notifier]) -> None:
        """``sms_routes``: number prefix (``+86``) -> provider; the longest matching prefix wins."""
        self._default = default
        self._routes = sorted(sms_routes.items(), key=lambda item: len(item[0]), reverse=True)

    def sms_provider(self, to: str) -> Notifier:
        return next((provider for prefix, provider in self._routes if to.startswith(prefix)), self._default)

    async def send_sms(self, *, to: str, body: str) -> str:
        return await self.sms_provider(to).send_sms(to=to, body=body)

    async def call(self, *, to: str, text: str) -> str:
        return await self._default.call(to=to, text=text)

    async def aclose(self) -> None:
        closed: set[int] = set()
        for provider in (self._default, *(p for _, p in self._routes)):
            if id(provider) not in closed:
                closed.add(id(provider))
                await provider.aclose()
