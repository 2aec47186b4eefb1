"""The workflow editor's run commands: a workflow, a method and a key -> a command to paste.

Templates are settings (`APIKEYS_RUN_REST_TEMPLATE`, `APIKEYS_RUN_CLI_TEMPLATE`) with named
fields. Every value put into a template is shell-quoted, so whatever a workflow id holds
(`x'; rm -rf ~ #` included) reaches the program as one harmless argument. The workflow id is also
percent-encoded where it becomes part of a URL.
"""

from __future__ import annotations

import shlex
import string
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from service.domain.errors import ValidationFailed
from service.domain.limits import WORKFLOW_ID_MAX
from service.domain.text import has_control_characters

DEFAULT_BASE_URL = "https://platform.example.com"
DEFAULT_REST_TEMPLATE = "curl -sS -X POST {run_url} -H {authorization}"
DEFAULT_CLI_TEMPLATE = "BLK_API_KEY={api_key} blk workflows run {workflow_id}"
TEMPLATE_FIELDS = frozenset({"base_url", "run_url", "workflow_id", "api_key", "authorization"})


class RunMethod(StrEnum):
    REST_API = "REST_API"
    CLI = "CLI"


class TemplateError(ValueError):
    """A template names a field that does not exist, or is not a valid format string."""


def check_template(template: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    unknown = fields - TEMPLATE_FIELDS
    if unknown or "" in fields:
        allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
        raise TemplateError(f"unknown field {sorted(unknown) or ['{}']}; allowed: {allowed}")
    return template


@dataclass(frozen=True)
class RunCommands:
    base_url: str = DEFAULT_BASE_URL
    rest_template: str = DEFAULT_REST_TEMPLATE
    cli_template: str = DEFAULT_CLI_TEMPLATE

    def render(self, method: RunMethod, workflow_id: str, api_key: str) -> str:
        """The command for `method`, with every interpolated value shell-quoted."""
        workflow_id = clean_workflow_id(workflow_id)
        base = self.base_url.rstrip("/")
        values = {
            "base_url": base,
            "run_url": f"{base}/api/v1/workflows/{quote(workflow_id, safe='')}/run",
            "workflow_id": workflow_id,
            "api_key": api_key,
            "authorization": f"Authorization: Bearer {api_key}",
        }
        template = self.rest_template if method is RunMethod.REST_API else self.cli_template
        return template.format(**{name: shlex.quote(value) for name, value in values.items()})


def clean_workflow_id(raw: str) -> str:
    if not raw or len(raw) > WORKFLOW_ID_MAX:
        raise ValidationFailed(
            "workflowId", f"A workflow id is 1 to {WORKFLOW_ID_MAX} characters long."
        )
    if has_control_characters(raw):
        raise ValidationFailed("workflowId", "A workflow id cannot contain control characters.")
    return raw
