"""Semantic colour roles read from the CSS theme, so no colour is hard-coded in Python.

Widgets that render Rich text declare these roles as component classes; the
stylesheet maps each to a theme variable ($success, $warning, $error, ...).
"""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget

ROLES = (
    "ok",
    "warn",
    "bad",
    "dim",
    "accent",
    "label",
    "title",
    "spark",
    "bar-empty",
    "header",
)

COMPONENT_CLASSES = frozenset(f"role--{role}" for role in ROLES)


def palette_of(widget: Widget) -> dict[str, Style]:
    """The widget's current style for each role (follows theme changes)."""
    return {role: widget.get_component_rich_style(f"role--{role}", partial=True) for role in ROLES}
