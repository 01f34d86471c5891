"""Local development and the demo: debug on, the demo executors installed."""

from config.settings.base import *  # noqa: F403
from config.settings.env import env_bool

DEBUG = env_bool("DEBUG", True)
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405
