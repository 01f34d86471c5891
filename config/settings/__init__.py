"""Settings split by environment: ``base`` (shared), ``dev`` (default), ``test`` and ``production``."""
