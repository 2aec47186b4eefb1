"""What the usage tracker buffers between two flushes: every use of a key, counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from service.domain.errors import ValidationFailed
from service.domain.run_commands import clean_workflow_id


class Use(NamedTuple):
    """What a use says besides which key and when: the workflow it ran (when the caller names
    one) and where it came from."""

    workflow_id: str | None = None
    client_address: str | None = None
    user_agent: str | None = None


NO_USE = Use()


@dataclass
class WorkflowUses:
    uses: int
    last_used_at: datetime

    def add(self, uses: int, at: datetime) -> None:
        self.uses += uses
        self.last_used_at = max(self.last_used_at, at)


@dataclass
class UsageBatch:
    """Uses buffered between two flushes."""

    latest: dict[str, tuple[datetime, Use]] = field(default_factory=dict)  # key -> latest use
    days: dict[tuple[str, date], int] = field(default_factory=dict)  # (key, day) -> uses
    workflows: dict[tuple[str, str, date], WorkflowUses] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.latest) + len(self.days) + len(self.workflows)

    def add(self, key_id: str, at: datetime, use: Use, uses: int = 1) -> None:
        previous = self.latest.get(key_id)
        if previous is None or at > previous[0]:
            self.latest[key_id] = (at, use)
        day = at.date()
        self.days[key_id, day] = self.days.get((key_id, day), 0) + uses
        if use.workflow_id is not None:
            entry = self.workflows.get((key_id, use.workflow_id, day))
            if entry is None:
                self.workflows[key_id, use.workflow_id, day] = WorkflowUses(uses, at)
            else:
                entry.add(uses, at)

    def key_ids(self) -> set[str]:
        return {*self.latest, *(k for k, _ in self.days), *(k for k, _, _ in self.workflows)}

    def parts(self, size: int) -> list[UsageBatch]:
        """Its entries (latest uses, days, workflows), in batches of at most `size` entries."""
        parts = [UsageBatch()]
        for table in ("latest", "days", "workflows"):
            for key, value in getattr(self, table).items():
                if len(parts[-1]) >= size:
                    parts.append(UsageBatch())
                getattr(parts[-1], table)[key] = value
        return [part for part in parts if len(part)]

    def merge(self, other: UsageBatch) -> None:
        """Put a batch that could not be written back in front of newer uses."""
        for key_id, (at, use) in other.latest.items():
            previous = self.latest.get(key_id)
            if previous is None or at > previous[0]:
                self.latest[key_id] = (at, use)
        for day_key, uses in other.days.items():
            self.days[day_key] = self.days.get(day_key, 0) + uses
        for workflow_key, counted in other.workflows.items():
            entry = self.workflows.get(workflow_key)
            if entry is None:
                self.workflows[workflow_key] = WorkflowUses(counted.uses, counted.last_used_at)
            else:
                entry.add(counted.uses, counted.last_used_at)


def usage_workflow_id(raw: object) -> str | None:
    """A workflow id by the rules of run commands, or None: an unusable one is not recorded
    (and never changes a verification's verdict)."""
    if not isinstance(raw, str):
        return None
    try:
        return clean_workflow_id(raw)
    except ValidationFailed:
        return None
