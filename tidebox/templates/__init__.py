"""What ``tidebox init`` writes into a new sandbox project, packaged with the engine.

The demo runs its own job and suite from here, so it works from any folder and from a wheel.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "project"
DEMO_JOB = PROJECT / "jobs" / "device_stats_1m.sql"
DEMO_SCORING_JOB = PROJECT / "jobs" / "device_anomaly_scores.sql"
DEMO_SUITES = PROJECT / "expectations"
