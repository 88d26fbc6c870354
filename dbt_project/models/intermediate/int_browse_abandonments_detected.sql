-- Each person's latest browse abandonment: a session with product views and no cart or order,
-- followed by browse_idle_minutes without activity, and no cart or order since.
with

sessions as (

    select * from {{ ref('sessions') }}

),

events as (

    select * from {{ ref('int_events_stitched') }}
    where event_name in ('Product Added', 'Checkout Started', 'Order Completed')

),

with_next as (

    select
        *,
        lead(started_at) over (partition by customer_id order by started_at) as next_started_at,
        {{ dbt.dateadd('minute', var('browse_idle_minutes'), 'ended_at') }} as idle_since
    from sessions

),

idle_browse_sessions as (

    select *
    from with_next
    where product_views > 0
      and not has_cart_activity
      and not has_order
      and idle_since <= {{ as_of() }}
      and (next_started_at is null or next_started_at >= idle_since)

),

carted_or_ordered_since as (

    select distinct idle_browse_sessions.session_id
    from idle_browse_sessions
    inner join events
        on idle_browse_sessions.customer_id = events.customer_id
        and events.occurred_at > idle_browse_sessions.ended_at

),

final as (

    select
        idle_browse_sessions.customer_id,
        idle_browse_sessions.session_id,
        idle_browse_sessions.ended_at as abandoned_at,
        idle_browse_sessions.idle_since as entered_at,
        idle_browse_sessions.categories_browsed as categories,
        idle_browse_sessions.product_ids_viewed as product_ids
    from idle_browse_sessions
    left join carted_or_ordered_since
        on idle_browse_sessions.session_id = carted_or_ordered_since.session_id
    where carted_or_ordered_since.session_id is null
    qualify row_number() over (
        partition by idle_browse_sessions.customer_id
        order by idle_browse_sessions.started_at desc
    ) = 1

)

select * from final
