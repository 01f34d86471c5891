"""Template filters of the app's pages: ``{% load goaltrack %}``."""

from __future__ import annotations

from django import template

from goals.ids import short_id as short_id_of

register = template.Library()


@register.filter
def short_id(value: object) -> str:
    """An id's random end (``goals.ids.short_id``): tells goals made in the same minute apart."""
    return short_id_of(value)
