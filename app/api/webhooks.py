"""Webhooks the SMS provider calls: Twilio's delivery receipts (status callbacks) and the SMS enterprises
send to our number (ratings, 退订 / 订阅, messages for the handler), answered with TwiML.

The signature is checked against the configured public URL (``PUBLIC_BASE_URL`` + path), never against the
URL the request arrived at: behind the TLS proxy that is ``http://`` on another host and port, and Twilio
signed the ``https://`` address it was given (django-twilio #196, twilio-python #392 / #402).
"""

import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, HTTPException, Request, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from app.api.deps import RuntimeDep
from app.runtime import Runtime
from notifiers.masking import mask_phone
from notifiers.receipts import ReceiptOutcome, apply_receipt
from notifiers.twilio_sms import INBOUND_PATH, STATUS_CALLBACK_PATH
from workflows.feedback import InboundResult, Outcome, receive_sms

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
    form = await _signed_form(
        request,
        runtime,
        runtime.settings.twilio_status_url,
        signature,
        kind="status callback",
        too_large="a status callback is a few hundred bytes",
    )
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


@router.post(INBOUND_PATH)
async def twilio_inbound(
    request: Request,
    runtime: RuntimeDep,
    signature: Annotated[str | None, Header(alias="X-Twilio-Signature")] = None,
) -> Response:
    """Take an SMS an enterprise sent us, once per MessageSid, and answer it with TwiML; 403 unless signed.

    A repeated MessageSid (Twilio retrying) changes nothing and is answered with an empty ``<Response/>``,
    so the enterprise is not sent the confirmation twice.
    """
    form = await _signed_form(
        request,
        runtime,
        runtime.settings.twilio_inbound_url,
        signature,
        kind="inbound SMS",
        too_large="an inbound SMS is a few kilobytes at most",
    )
    sid = form.get("MessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        raise HTTPException(422, "MessageSid and From are required")
    result = await run_in_threadpool(_receive, runtime, sid, sender, form.get("Body", ""))
    log.info("inbound SMS %s from %s: %s", sid, mask_phone(sender), result.outcome.value)
    twiml = MessagingResponse()
    if result.reply:
        twiml.message(result.reply)
    return Response(str(twiml), media_type="application/xml")


async def _signed_form(
    request: Request,
    runtime: Runtime,
    signed_url: str | None,
    signature: str | None,
    *,
    kind: str,
    too_large: str,
) -> dict[str, str]:
    """The posted form, if Twilio signed it for ``signed_url`` (our public URL) with our auth token; else 403."""
    token = runtime.settings.twilio.auth_token
    if token is None or signed_url is None:
        raise HTTPException(403, "Twilio is not configured here (TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL)")
    if request.url.query:
        signed_url = f"{signed_url}?{request.url.query}"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CALLBACK_BYTES:
        raise HTTPException(413, f"{too_large}, not {declared}")
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        raise HTTPException(413, f"{too_large}, not {len(body)}")
    raw = body.decode("utf-8", errors="replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if not signature or not RequestValidator(token.get_secret_value()).validate(signed_url, form, signature):
        log.warning("refused a Twilio %s with a missing or wrong signature", kind)
        raise HTTPException(403, "invalid X-Twilio-Signature")
    return form


def _receive(runtime: Runtime, sid: str, sender: str, body: str) -> InboundResult:
    try:
        with runtime.db.write() as session:
            return receive_sms(
                session,
                message_sid=sid,
                from_number=sender,
                body=body,
                now=runtime.clock.now(),
                config=runtime.config,
            )
    except IntegrityError:
        # The same MessageSid committed by a concurrent delivery of this webhook between check and insert.
        return InboundResult(Outcome.DUPLICATE, None)


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
