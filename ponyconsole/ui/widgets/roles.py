"""A widget's colour roles, looked up once per style change instead of once per render."""

from __future__ import annotations

from typing import cast

from rich.style import Style
from textual.widget import Widget

from ponyconsole.ui import palette

PLAIN_ROLES: dict[str, Style] = {role: Style() for role in palette.ROLES}


class CachedRoles:
    """Mixin for a Widget (list it first): `self.roles`, the palette, cached.

    Looking up the ten component styles on every render cost ~5 % of the
    console's samples (py-spy, an encode running, tiles repainting each second).
    They change only when the stylesheet re-applies (theme, classes), which
    Textual announces with `notify_style_update`. Not a Widget subclass itself:
    Textual inherits DEFAULT_CSS along the first DOMNode base only.
    """

    _roles: dict[str, Style] | None = None
    _base: Style | None = None

    @property
    def base_style(self) -> Style:
        """The widget's ``rich_style``, cached the same way: it walks every ancestor's
        background, and line widgets asked for it on each line they drew (~5 % of the
        console's busy samples with six transcodes followed)."""
        if self._base is None:
            self._base = cast(Widget, self).rich_style
        return self._base

    @property
    def roles(self) -> dict[str, Style]:
        if self._roles is None:
            try:
                self._roles = palette.palette_of(cast(Widget, self))
            except KeyError:  # mounted, but its stylesheet is not applied yet: plain for now
                return PLAIN_ROLES
        return self._roles

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._roles = None
        self._base = None
