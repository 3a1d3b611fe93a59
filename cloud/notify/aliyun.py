"""Aliyun SMS (阿里云短信) for mainland numbers through ``alibabacloud-dysmsapi20170525`` (``SendSms``).

Mainland SMS must use a registered signature (签名, ``SignName``) and a registered template
(``TemplateCode``); our text goes in the template's one variable (``TemplateParam``,
``{"content": "…"}``) without its own 【安心】 tag, which the signature adds. The SDK's endpoint is a
setting, so tests point it at a local HTTP server that answers Aliyun's JSON
(``{"Code":"OK","BizId":…,"RequestId":…,"Message":"OK"}``). ``BizId`` is the message id that the
delivery reports (SmsReport) name. No voice: the router sends calls elsewhere.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import aiohttp
from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as api_models
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import RetryError, TeaException, ValidateException

from cloud.notify.port import VOICE_UNAVAILABLE, NotifierError
from cloud.phones import E164_RE, mask_phone

log = logging.getLogger(__name__)

ALIYUN_ENDPOINT = "dysmsapi.aliyuncs.com"
TAGS = ("【安心】", "[Anxin] ")
# Business error codes (HTTP 200, Code != OK) that a retry cannot fix.
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.INVALID_PARAMETERS",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.DENY_IP_RANGE",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "isv.SMS_CONTENT_ILLEGAL",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.UNSUPPORTED_DESTINATION",  # not a mainland number (or no international permission)
    }
)


def template_content(body: str) -> str:
    """The text without our own tag: the registered signature puts 【安心】 in front."""
    for tag in TAGS:
        if tag in body[:12]:
            return body.replace(tag, "", 1).strip()
    return body


def national(phone: str) -> str:
    """Aliyun takes mainland numbers without the country code."""
    return phone.removeprefix("+86") if phone.startswith("+86") else phone.removeprefix("+")


class AliyunSmsNotifier:
    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        template_param: str = "content",
        endpoint: str = ALIYUN_ENDPOINT,
        timeout_s: float = 10.0,
    ) -> None:
        """``endpoint``: a host (``dysmsapi.aliyuncs.com``, HTTPS) or a URL (``http://127.0.0.1:8080``)."""
        if not access_key_id or not access_key_secret or not sign_name or not template_code:
            raise ValueError("aliyun needs an access key, a sign name and a template code")
        parts = urlsplit(endpoint if "//" in endpoint else f"https://{endpoint}")
        config = api_models.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=parts.netloc,
            protocol=parts.scheme,
        )
        self._client = Client(config)
        self._sign_name = sign_name
        self._template_code = template_code
        self._template_param = template_param
        timeout_ms = round(timeout_s * 1000)
        self._runtime = RuntimeOptions(
            read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False, max_attempts=1
        )

    async def send_sms(self, *, to: str, body: str) -> str:
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        request = sms_models.SendSmsRequest(
            phone_numbers=national(to),
            sign_name=self._sign_name,
            template_code=self._template_code,
            template_param=json.dumps({self._template_param: template_content(body)}, ensure_ascii=False),
        )
        try:
            response = await self._client.send_sms_with_options_async(request, self._runtime)
        except ValidateException as exc:
            raise NotifierError("aliyun refused the request locally", retryable=False) from exc
        except TeaException as exc:  # an error answer (ClientException …) or the transport, wrapped
            code = exc.code
            raise NotifierError(
                f"aliyun failed: {type(exc).__name__} code={code}", retryable=str(code) not in PERMANENT_CODES
            ) from exc
        except (RetryError, aiohttp.ClientError, OSError) as exc:
            raise NotifierError(f"aliyun unreachable: {type(exc).__name__}") from exc
        answer = response.body
        code = getattr(answer, "code", None)
        if code != "OK":
            raise NotifierError(f"aliyun answered code={code}", retryable=str(code) not in PERMANENT_CODES)
        biz_id = getattr(answer, "biz_id", None)
        if not isinstance(biz_id, str) or not biz_id:
            raise NotifierError("aliyun answer without a BizId")
        log.info("sms.sent provider=aliyun to=%s id=%s", mask_phone(to), biz_id)
        return biz_id

    async def call(self, *, to: str, text: str) -> str:
        del to, text
        raise NotifierError(VOICE_UNAVAILABLE, retryable=False)

    async def aclose(self) -> None:
        return None
