"""The embedded default notifier: each SMS goes to the log and to a JSON-lines file, and counts as sent."""

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from notifiers.base import OutgoingSms, SendResult
from notifiers.masking import mask_phone, mask_secrets_in
from notifiers.segments import count_segments

log = logging.getLogger("complaintflow.sms")


class FileNotifier:
    name = "embedded (log + JSON lines file)"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendResult:
        provider_id = f"LOCAL{uuid.uuid4().hex[:27].upper()}"
        segments = count_segments(message.body).segments
        line = {
            "id": provider_id,
            "notification_id": message.notification_id,
            "to": message.to,
            "body": message.body,
            "segments": segments,
            "sent_at": datetime.now(UTC).isoformat(),
        }
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        log.info("SMS to %s: %s", mask_phone(message.to), mask_secrets_in(message.body))
        return SendResult(provider_id=provider_id, status="sent", segments=segments)

    def lookup_sent(
        self, message: OutgoingSms, since: datetime, *, exclude: frozenset[str] = frozenset()
    ) -> SendResult | None:
        """Find the line written for this notification (the file is the record of what went out)."""
        if not self.path.exists():
            return None
        found: SendResult | None = None
        with self._lock, self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash was never a complete send
                if line.get("notification_id") == message.notification_id and line.get("id") not in exclude:
                    found = SendResult(
                        provider_id=str(line["id"]), status="sent", segments=line.get("segments")
                    )
        return found
