"""The journey engine: flows declared in flows.yml, planned from dbt's trigger timelines."""

from pipelines.journeys.assets import (
    JOURNEY_ASSETS,
    JOURNEY_JOBS,
    JOURNEY_SCHEDULES,
    churn_training_job,
    churn_training_schedule,
    flow_lift,
    journey_plan,
    journeys_job,
    journeys_schedule,
    outbox_dispatch,
)

__all__ = [
    "JOURNEY_ASSETS",
    "JOURNEY_JOBS",
    "JOURNEY_SCHEDULES",
    "churn_training_job",
    "churn_training_schedule",
    "flow_lift",
    "journey_plan",
    "journeys_job",
    "journeys_schedule",
    "outbox_dispatch",
]
