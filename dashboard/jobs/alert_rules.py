"""The alert rules of the `alerts` job: their names, parameters and defaults, and the YAML file that tunes them
(setting IOC_ALERT_RULES_FILE, default data/alert_rules.yaml, which documents every rule).

The file is a mapping of rule name → parameters. A rule or parameter left out keeps its default; an unknown rule,
an unknown parameter or a value of the wrong kind raises RulesError naming the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dashboard import config

SEVERITIES = ("info", "warning", "critical")

# rule → (default severity, {parameter: default}); `enabled` and `severity` are common to all.
RULES: dict[str, tuple[str, dict[str, int | float]]] = {
    "feedback_due_soon": ("warning", {"due_within_hours": 24}),
    "feedback_overdue": ("warning", {"escalate_after_hours": 48}),
    "dossier_overdue": ("warning", {"escalate_after_hours": 48}),
    "anomaly": ("info", {"lookback_days": 3, "min_size": 0}),
    "source_late": ("critical", {}),
    "sensor_silent": ("warning", {"silent_minutes": 60}),
    "job_failing": ("critical", {"failures_in_a_row": 3}),
    "directive_overdue": ("warning", {}),
}
WHOLE_NUMBERS = {"due_within_hours", "escalate_after_hours", "lookback_days", "silent_minutes", "failures_in_a_row"}


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Rule:
    name: str
    enabled: bool = True
    severity: str = "warning"
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


def default_rules() -> dict[str, Rule]:
    return {name: Rule(name, True, severity, dict(params)) for name, (severity, params) in RULES.items()}


def rules_path() -> Path:
    path = Path(config.value("IOC_ALERT_RULES_FILE"))
    return path if path.is_absolute() else config.PROJECT_ROOT / path


def _scalar(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def parse_rules(text: str, source: str = "<rules>") -> dict[str, Rule]:
    """The rules described by the YAML `text` (defaults for what it leaves out)."""

    def fail(node: yaml.Node, message: str) -> RulesError:
        return RulesError(f"{source}, line {node.start_mark.line + 1}: {message}")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"{source}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    rules = default_rules()
    if root is None:
        return rules
    if not isinstance(root, yaml.MappingNode):
        raise fail(root, "expected a mapping of rule names to their parameters")
    for key_node, value_node in root.value:
        name = _scalar(key_node)
        if name not in RULES:
            raise fail(key_node, f"unknown rule {name!r} (rules: {', '.join(RULES)})")
        rule = rules[name]
        enabled, severity, params = rule.enabled, rule.severity, dict(rule.params)
        if isinstance(value_node, yaml.ScalarNode) and _scalar(value_node) is None:
            continue
        if not isinstance(value_node, yaml.MappingNode):
            raise fail(value_node, f"rule {name!r}: expected a mapping of parameters")
        for param_node, param_value in value_node.value:
            param = _scalar(param_node)
            if not isinstance(param_value, yaml.ScalarNode):
                raise fail(param_value, f"rule {name!r}, parameter {param!r}: expected a single value")
            value = _scalar(param_value)
            if param == "enabled":
                if not isinstance(value, bool):
                    raise fail(param_value, f"rule {name!r}: enabled must be true or false, not {value!r}")
                enabled = value
            elif param == "severity":
                if value not in SEVERITIES:
                    raise fail(param_value, f"rule {name!r}: severity must be one of {', '.join(SEVERITIES)}")
                severity = value
            elif param in params:
                whole = param in WHOLE_NUMBERS
                kinds = (int,) if whole else (int, float)
                if isinstance(value, bool) or not isinstance(value, kinds) or value < (1 if whole else 0):
                    wanted = "a whole number of at least 1" if whole else "a number of at least 0"
                    raise fail(param_value, f"rule {name!r}, parameter {param!r}: expected {wanted}, not {value!r}")
                params[param] = value
            else:
                known = ", ".join(["enabled", "severity", *params])
                raise fail(param_node, f"rule {name!r} has no parameter {param!r} (parameters: {known})")
        rules[name] = Rule(name, enabled, severity, params)
    return rules


def load_rules(path: Path | None = None) -> dict[str, Rule]:
    """The rules of `path` (default: the setting IOC_ALERT_RULES_FILE); RulesError when it cannot be read."""
    path = rules_path() if path is None else path
    if not path.is_file():
        raise RulesError(f"{path}: no such rules file (setting IOC_ALERT_RULES_FILE)")
    return parse_rules(path.read_text(encoding="utf-8"), str(path))
