"""The HTTP side of goaltrack: the JSON API under ``/api/`` and, beside it, the live pages (``goals.web.pages``)."""
