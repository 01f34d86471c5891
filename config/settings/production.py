"""Production: refuses to start without a real SECRET_KEY and real services; secure cookies and headers.

The checks run before the base settings are imported: with ``DATABASE_URL`` or ``CELERY_BROKER_URL``
unset the base settings would start the embedded development servers, which production must never do.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL") if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(f"{', '.join(_missing)} must be set in production (config.settings.production)")

from config.settings.base import *  # noqa: E402, F403
from config.settings.env import env_bool, env_int  # noqa: E402

DEBUG = False
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
# gunicorn serves the admin's static files through WhiteNoise, right after the security middleware: hashed,
# compressed copies made by collectstatic (Dockerfile), cacheable forever.
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
