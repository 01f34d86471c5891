"""The fault-injection suite: real faults against real workers, brokers and PostgreSQL on this machine.

Every executor here records what it did in an effects ledger (``faults.models.Effect``), so that a lost
goal or a doubled effect is counted, not guessed; every scenario ends with ``faults.checks.verify``.
Run it with ``make faults`` (see the README); ``tests/faults/test_faults.py`` runs a short version of each.
"""
