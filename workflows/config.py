"""The rules the domain runs by: the SLA policy and the routing table, loaded once and passed in."""

from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from workflows.policy import Policy, load_policy
from workflows.routing import RoutingTable, load_routing
from workflows.sla import LevelPlan


@dataclass(frozen=True)
class DomainConfig:
    policy: Policy
    routing: RoutingTable

    @classmethod
    def load(cls, policy_path: str | None = None, routing_path: str | None = None) -> "DomainConfig":
        return cls(load_policy(policy_path), load_routing(routing_path))

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.policy.calendar.timezone)

    @property
    def levels(self) -> LevelPlan:
        return self.policy.level_list

    def progress_link(self, access_key: str) -> str:
        """The enterprise's own link (sent by SMS): the whole public record of its complaint."""
        return f"{self._public_base}/p/{access_key}"

    def tracking_link(self, tracking_no: str) -> str:
        """The link anyone with the tracking number may open: status, milestones and deadlines only."""
        return f"{self._public_base}/t/{tracking_no}"

    @property
    def _public_base(self) -> str:
        return self.policy.notifications.public_base_url.rstrip("/")

    def department_name(self, code: str | None, locale: str = "zh") -> str:
        info = self.routing.departments.get(code or "")
        if info is None:
            return "承办单位" if locale == "zh" else "the handling department"
        return info.name_zh if locale == "zh" else info.name_en
