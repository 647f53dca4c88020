"""Webhooks the SMS provider calls: Twilio's delivery receipts (status callbacks).

The signature is checked against the configured public URL (``PUBLIC_BASE_URL`` + path), never against the
URL the request arrived at: behind the TLS proxy that is ``http://`` on another host and port, and Twilio
signed the ``https://`` address it was given (django-twilio #196, twilio-python #392 / #402).
"""

import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator

from app.api.deps import RuntimeDep
from app.runtime import Runtime
from notifiers.receipts import ReceiptOutcome, apply_receipt
from notifiers.twilio_sms import STATUS_CALLBACK_PATH

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

MAX_CALLBACK_BYTES = 64 * 1024


@router.post(STATUS_CALLBACK_PATH)
async def twilio_status(
    request: Request,
    runtime: RuntimeDep,
    signature: Annotated[str | None, Header(alias="X-Twilio-Signature")] = None,
) -> dict[str, str]:
    """Record a message's new status from Twilio; 403 unless Twilio signed it with our auth token.

    Answers 200 with ``result``: ``applied``, ``stale`` (the message is already further on) or ``unknown``
    (not a message this service sent); Twilio only needs the 2xx.
    """
    settings = runtime.settings
    token = settings.twilio.auth_token
    signed_url = settings.twilio_status_url
    if token is None or signed_url is None:
        raise HTTPException(403, "Twilio is not configured here (TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL)")
    if request.url.query:
        signed_url = f"{signed_url}?{request.url.query}"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CALLBACK_BYTES:
        raise HTTPException(413, f"a status callback is a few hundred bytes, not {declared}")
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        raise HTTPException(413, f"a status callback is a few hundred bytes, not {len(body)}")
    raw = body.decode("utf-8", errors="replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if not signature or not RequestValidator(token.get_secret_value()).validate(signed_url, form, signature):
        log.warning("refused a Twilio status callback with a missing or wrong signature")
        raise HTTPException(403, "invalid X-Twilio-Signature")
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise HTTPException(422, "MessageSid and MessageStatus are required")
    outcome = await run_in_threadpool(_record, runtime, sid, status, form)
    if not outcome.known:
        log.warning("status callback for a message we did not send: %s (%s)", sid, status)
        return {"result": "unknown"}
    if not outcome.applied:
        log.info("status callback %s for %s ignored: the message is already %s", status, sid, outcome.status)
        return {"result": "stale"}
    return {"result": "applied"}


def _record(runtime: Runtime, sid: str, status: str, form: dict[str, str]) -> ReceiptOutcome:
    with runtime.db.write() as session:
        return apply_receipt(
            session,
            sid,
            status,
            runtime.clock.now(),
            error_code=form.get("ErrorCode") or None,
            error_message=form.get("ErrorMessage") or None,
        )
