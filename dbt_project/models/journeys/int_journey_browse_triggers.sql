{{ config(materialized='view') }}

-- browse_idle triggers: a burst of site activity (no gap over browse_idle_minutes) with product
-- views, no cart add, checkout or order, then browse_idle_minutes without activity. Fires at the
-- end of that idle time; everything it carries happened before then.
with

events as (

    select * from {{ ref('int_journey_events') }}
    where is_site_activity

),

previous as (

    select
        *,
        lag(occurred_at) over (
            partition by customer_id order by occurred_at, message_id
        ) as previous_occurred_at
    from events

),

gaps as (

    select
        *,
        case
            when previous_occurred_at is null then 1
            when {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'second') }}
                > {{ var('browse_idle_minutes') * 60 }} then 1
            else 0
        end as starts_burst
    from previous

),

numbered as (

    select
        *,
        sum(starts_burst) over (
            partition by customer_id order by occurred_at, message_id
            rows between unbounded preceding and current row
        ) as burst_number
    from gaps

),

bursts as (

    select
        customer_id,
        burst_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        min(case when starts_burst = 1 then message_id end) as first_message_id,
        sum(case when event_name = 'Product Viewed' then 1 else 0 end) as product_views,
        sum(case when event_name in ('Product Added', 'Checkout Started', 'Order Completed')
            then 1 else 0 end) as cart_or_order_events
    from numbered
    group by customer_id, burst_number

),

browsed as (

    select customer_id, burst_number,
        {{ dbt.listagg('category', "','", 'order by category') }} as categories
    from (
        select distinct customer_id, burst_number, category
        from numbered
        where event_name = 'Product Viewed' and category is not null
    ) as distinct_categories
    group by customer_id, burst_number

),

viewed as (

    select customer_id, burst_number,
        {{ dbt.listagg('product_id', "','", 'order by product_id') }} as product_ids
    from (
        select distinct customer_id, burst_number, product_id
        from numbered
        where event_name = 'Product Viewed' and product_id is not null
    ) as distinct_products
    group by customer_id, burst_number

),

final as (

    select
        'browse_idle' as trigger,
        'browse:' || bursts.first_message_id as trigger_id,
        bursts.customer_id,
        {{ dbt.dateadd('minute', var('browse_idle_minutes'), 'bursts.ended_at') }}
            as triggered_at,
        browsed.categories,
        viewed.product_ids
    from bursts
    left join browsed
        on bursts.customer_id = browsed.customer_id
        and bursts.burst_number = browsed.burst_number
    left join viewed
        on bursts.customer_id = viewed.customer_id
        and bursts.burst_number = viewed.burst_number
    where bursts.product_views > 0 and bursts.cart_or_order_events = 0

)

select * from final
