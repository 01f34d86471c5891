"""The reconciler: finds where Celery's stored state drifted from the goal rows, repairs what it safely
can through the transition services, flags the rest for review, and writes a report.

``detect`` finds (set-based SQL), ``repair`` decides and acts on one finding, ``passes`` runs a whole
pass in claimed batches and writes its report, ``export`` turns reports into CSV and JSON.
"""
