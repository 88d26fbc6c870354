{{ config(materialized='view') }}

{%- set idle_seconds = [var('browse_idle_minutes'), var('session_gap_minutes')] | max * 60 %}

-- browse_idle triggers: a session with product views and no cart add, checkout or order,
-- followed by browse_idle_minutes without activity. It fires once the session is surely over
-- too (session_gap_minutes, when longer): before that a later event could still join the
-- session, and a trigger known at t must not depend on what happened after t.
with

sessions as (

    select
        *,
        lead(started_at) over (partition by customer_id order by started_at) as next_started_at
    from {{ ref('sessions') }}

),

events as (

    select * from {{ ref('int_events_stitched') }}
    where is_site_activity

),

idle_browse_sessions as (

    select *
    from sessions
    where product_views > 0
      and not has_cart_activity
      and not has_order
      and (
          next_started_at is null
          or {{ dbt.datediff('ended_at', 'next_started_at', 'second') }} > {{ idle_seconds }}
      )

),

first_messages as (

    -- the session's first event (sessions order events by time, then message id)
    select idle_browse_sessions.session_id, min(events.message_id) as message_id
    from idle_browse_sessions
    inner join events
        on idle_browse_sessions.customer_id = events.customer_id
        and idle_browse_sessions.started_at = events.occurred_at
    group by idle_browse_sessions.session_id

),

final as (

    select
        'browse_idle' as trigger,
        'browse:' || first_messages.message_id as trigger_id,
        idle_browse_sessions.customer_id,
        idle_browse_sessions.session_id,
        {{ dbt.dateadd('second', idle_seconds, 'idle_browse_sessions.ended_at') }}
            as triggered_at,
        idle_browse_sessions.categories_browsed as categories,
        idle_browse_sessions.product_ids_viewed as product_ids
    from idle_browse_sessions
    inner join first_messages on idle_browse_sessions.session_id = first_messages.session_id

)

select * from final
