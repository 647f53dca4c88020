"""What is stored: SQLModel tables, enums, engine and sessions, migrations."""

from models.clock import Clock, ClockLevel
from models.complaint import (
    ActionRequest,
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    EnterpriseMessage,
    EnterpriseRating,
    TrackingCounter,
)
from models.department import Department
from models.enums import (
    Action,
    Channel,
    ClockKind,
    ClockState,
    Complexity,
    LevelName,
    NotificationChannel,
    NotificationStatus,
    Status,
)
from models.inbound import InboundSms, SmsOptOut
from models.notification import HeldReceipt, Notification

__all__ = [
    "Action",
    "ActionRequest",
    "Channel",
    "Clock",
    "ClockKind",
    "ClockLevel",
    "ClockState",
    "Complaint",
    "ComplaintCreate",
    "ComplaintEvent",
    "Complexity",
    "Department",
    "EnterpriseMessage",
    "EnterpriseRating",
    "HeldReceipt",
    "InboundSms",
    "LevelName",
    "Notification",
    "NotificationChannel",
    "NotificationStatus",
    "SmsOptOut",
    "Status",
    "TrackingCounter",
]
