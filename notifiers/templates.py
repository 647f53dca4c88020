"""Message texts: SMS to enterprises and in-platform messages to staff, Chinese first, English second.

Bodies are rendered when the outbox row is written, so the row holds exactly what is sent, and a retry
or a crash reconciliation compares like with like.
"""

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

SIGNATURE = {"zh": "【即诉即办】", "en": "[Complaints] "}

SMS_TEMPLATES: dict[str, dict[str, str]] = {
    "received": {
        "zh": "您的投诉已受理，受理编号{tracking_no}，将于{response_due}前响应、{resolution_due}前办结。进度：{link}",
        "en": "Complaint received, no. {tracking_no}. Response by {response_due}, "
        "resolution by {resolution_due}. Progress: {link}",
    },
    "assigned": {
        "zh": "您的投诉（{tracking_no}）已转{department}办理。进度：{link}",
        "en": "Complaint {tracking_no} has been assigned to {department}. Progress: {link}",
    },
    "responded": {
        "zh": "{department}已响应您的投诉（{tracking_no}），将于{resolution_due}前办结。进度：{link}",
        "en": "{department} has responded to complaint {tracking_no}; resolution by {resolution_due}. "
        "Progress: {link}",
    },
    "progress": {
        "zh": "您的投诉（{tracking_no}）有新的办理进展，详情请查看：{link}",
        "en": "There is progress on complaint {tracking_no}. Details: {link}",
    },
    "paused": {
        "zh": "您的投诉（{tracking_no}）需要您补充材料，补充后继续办理。详情：{link}",
        "en": "Complaint {tracking_no} is waiting for materials from you; handling resumes once they arrive. "
        "Details: {link}",
    },
    "resolved": {
        "zh": "您的投诉（{tracking_no}）已办结。请回复数字评价：1满意 2基本满意 3不满意。详情：{link}",
        "en": "Complaint {tracking_no} is resolved. Reply 1 satisfied, 2 mostly satisfied, "
        "3 dissatisfied. Details: {link}",
    },
    "closed": {
        "zh": "您的投诉（{tracking_no}）已结案，感谢您对营商环境的监督。",
        "en": "Complaint {tracking_no} is closed. Thank you for helping improve the business environment.",
    },
    "reopened": {
        "zh": "您的投诉（{tracking_no}）已重新办理，将于{resolution_due}前办结。进度：{link}",
        "en": "Complaint {tracking_no} has been reopened; resolution by {resolution_due}. Progress: {link}",
    },
    "withdrawn": {
        "zh": "您的投诉（{tracking_no}）已撤回。如需继续反映，请重新提交。",
        "en": "Complaint {tracking_no} has been withdrawn. File again if the matter continues.",
    },
}

STAFF_TEMPLATES: dict[str, dict[str, str]] = {
    "sla_warning": {
        "zh": "【预警】投诉{tracking_no}（{title}）的{clock}时限将于{due}到期。",
        "en": "[Warning] The {clock} deadline of complaint {tracking_no} ({title}) falls at {due}.",
    },
    "sla_breach": {
        "zh": "【超时】投诉{tracking_no}（{title}）的{clock}时限已于{due}超时。",
        "en": "[Breach] The {clock} deadline of complaint {tracking_no} ({title}) passed at {due}.",
    },
    "sla_escalation": {
        "zh": "【督办】投诉{tracking_no}（{title}）的{clock}时限已超时50%（{due}），请督办。",
        "en": "[Escalation] The {clock} deadline of complaint {tracking_no} ({title}) is 50% overdue "
        "({due}); please supervise.",
    },
    "enterprise_message": {
        "zh": "【企业留言】投诉{tracking_no}（{title}）的企业发来短信：{excerpt}",
        "en": "[Enterprise message] The enterprise of complaint {tracking_no} ({title}) wrote by SMS: {excerpt}",
    },
    "enterprise_web_message": {
        "zh": "【企业留言】投诉{tracking_no}（{title}）的企业在进度页留言：{excerpt}",
        "en": "[Enterprise message] The enterprise of complaint {tracking_no} ({title}) wrote on its progress "
        "page: {excerpt}",
    },
}

# Answers to an SMS the enterprise sent (TwiML replies), rendered in Chinese like every SMS.
REPLY_TEMPLATES: dict[str, dict[str, str]] = {
    "rated": {
        "zh": "感谢您的评价！投诉{tracking_no}的评价“{rating_label}”已记录。",
        "en": 'Thank you for your rating. "{rating_label_en}" is recorded for complaint {tracking_no}.',
    },
    "opted_out": {
        "zh": "您已退订本平台短信通知，办理进度仍可在进度页查看。回复“订阅”可恢复。",
        "en": "You will receive no more SMS from us; progress stays on the progress page. Reply START to resume.",
    },
    "opted_in": {
        "zh": "您已恢复接收本平台短信通知。回复“退订”可停止。",
        "en": "SMS notifications are on again. Reply STOP to stop them.",
    },
    "message": {
        "zh": "已收到您的留言，已转投诉{tracking_no}的承办人员处理。",
        "en": "Your message has been passed to the handlers of complaint {tracking_no}.",
    },
    "no_complaint": {
        "zh": "您好，未找到与本号码关联的办理中投诉。如需反映问题，请拨打12345热线。",
        "en": "We found no open complaint for this number. To file one, please call the 12345 hotline.",
    },
}

# Why an SMS row was not sent (yet): shown with the row on the progress page, Chinese / English.
DISPATCH_NOTES: dict[str, str] = {
    "opted_out": "收件人已回复退订，短信未发送（回复“订阅”可恢复） / the recipient replied STOP (退订); not sent",
    "quiet_hours": "夜间免打扰时段，{until}后发送 / quiet hours: goes out at {until}",
    "daily_cap": "已达该号码当日短信上限，{until}后发送 / the number's SMS cap for the day is reached: "
    "goes out at {until}",
    "account_paused": "短信平台拒绝了本系统的账号或密钥，发送暂停，{until}后重试 / the SMS provider refused "
    "our account or credentials: sending is paused, next try at {until}",
}

RATING_LABELS: dict[int, dict[str, str]] = {
    1: {"zh": "满意", "en": "satisfied"},
    2: {"zh": "基本满意", "en": "mostly satisfied"},
    3: {"zh": "不满意", "en": "dissatisfied"},
}

CLOCK_NAMES = {
    "response": {"zh": "响应", "en": "response"},
    "resolution": {"zh": "办结", "en": "resolution"},
    "update": {"zh": "进展更新", "en": "progress update"},
}

SMS_TEMPLATE_NAMES = tuple(SMS_TEMPLATES)


def format_local(instant: datetime, zone: ZoneInfo, locale: str = "zh") -> str:
    """Show an instant the way people in the district read it: 12月3日20:15 / 3 Dec 20:15."""
    local = instant.astimezone(zone)
    if locale == "zh":
        return f"{local.month}月{local.day}日{local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def render_sms(name: str, params: Mapping[str, str], locale: str = "zh") -> str:
    template = SMS_TEMPLATES[name][locale]
    return SIGNATURE[locale] + template.format_map(params)


def render_reply(name: str, params: Mapping[str, str], locale: str = "zh") -> str:
    return SIGNATURE[locale] + REPLY_TEMPLATES[name][locale].format_map(params)


def render_staff(name: str, params: Mapping[str, str], locale: str = "zh") -> str:
    return STAFF_TEMPLATES[name][locale].format_map(params)


STATUS_LABELS: dict[str, dict[str, str]] = {
    "received": {"zh": "已接收", "en": "Received"},
    "accepted": {"zh": "已受理", "en": "Accepted"},
    "assigned": {"zh": "已转办", "en": "Assigned"},
    "responded": {"zh": "已响应", "en": "Responded"},
    "in_progress": {"zh": "办理中", "en": "In progress"},
    "paused": {"zh": "待补充材料", "en": "Awaiting materials"},
    "resolved": {"zh": "已办结", "en": "Resolved"},
    "closed": {"zh": "已结案", "en": "Closed"},
    "withdrawn": {"zh": "已撤回", "en": "Withdrawn"},
}

ACTION_LABELS: dict[str, dict[str, str]] = {
    "intake": {"zh": "投诉已接收", "en": "Complaint received"},
    "accept": {"zh": "已受理", "en": "Accepted"},
    "assign": {"zh": "已转办承办单位", "en": "Assigned to a department"},
    "respond": {"zh": "承办单位已响应", "en": "Department responded"},
    "progress": {"zh": "办理进展", "en": "Progress update"},
    "pause": {"zh": "暂停办理，待补充材料", "en": "Paused, awaiting materials"},
    "resume": {"zh": "恢复办理", "en": "Resumed"},
    "resolve": {"zh": "已办结", "en": "Resolved"},
    "close": {"zh": "已结案", "en": "Closed"},
    "reopen": {"zh": "重新办理", "en": "Reopened"},
    "withdraw": {"zh": "已撤回", "en": "Withdrawn"},
    "comment": {"zh": "留言", "en": "Message"},
    "reclassify": {"zh": "调整分类", "en": "Reclassified"},
    "set-due": {"zh": "调整办理时限", "en": "Deadline set"},
    "rate": {"zh": "企业评价", "en": "Rated by the enterprise"},
    "enterprise_message": {"zh": "企业留言", "en": "Message from the enterprise"},
}


def bilingual(labels: dict[str, dict[str, str]], key: str) -> str:
    entry = labels.get(key)
    return f"{entry['zh']} / {entry['en']}" if entry else key
