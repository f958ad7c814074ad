"""
The metric names a PromQL expression reads, for comparing the dashboard's and the alerts'
queries with what the app exports. Not a PromQL parser (none is packaged for Python): it
drops what cannot hold a metric name (strings, label matchers, ranges, the label lists of
by/without/on/ignoring/group_*), then keeps each identifier that is not a function call or a
keyword. promtool parses the same expressions in full (test_dashboard.py).
"""

from __future__ import annotations

import re

KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset", "inf", "nan", "atan2"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NAME = re.compile(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Every metric name `expr` selects."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)  # `sum by (route) (x)`: sum is then a call
    return {match[1] for match in _NAME.finditer(text) if not match[2] and match[1] not in KEYWORDS}
