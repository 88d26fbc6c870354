-- Consecutive sessions of a person are more than session_gap_minutes apart, never overlapping.
with ordered as (
    select
        customer_id,
        started_at,
        lag(ended_at) over (partition by customer_id order by started_at) as previous_ended_at
    from {{ ref('sessions') }}
)
select *
from ordered
where previous_ended_at is not null
  and {{ dbt.datediff('previous_ended_at', 'started_at', 'second') }}
      <= {{ var('session_gap_minutes') * 60 }}
