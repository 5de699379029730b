"""Hypothesis settings of the reliability suite: bounded examples and deadlines (the suite stays < 60 s)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("reliability", max_examples=150, deadline=2000, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZ = settings.get_profile("reliability")
"""Apply with ``@FUZZ``: 150 examples, 2 s per example (a hang fails), the same examples every run."""
