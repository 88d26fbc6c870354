{#-
  Visits: a person's site activity split wherever they were inactive for more than
  session_gap_minutes. Incremental per customer: a run recomputes every session of the people
  whose events changed since (new, late, re-stitched or dropped by a moved-back as_of), found by
  comparing event counts and stitching times with what the sessions were built from; the
  pre-hook drops people who no longer have any activity. A full refresh gives the same rows.
-#}
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where customer_id not in (select customer_id from {{ ref('int_events_stitched') }} where is_site_activity){% endif %}",
    )
}}

with

events as (

    select * from {{ ref('int_events_stitched') }}
    where is_site_activity

),

{% if is_incremental() %}

event_counts as (

    select customer_id, count(*) as events_count, max(stitched_at) as stitched_through
    from events
    group by customer_id

),

built_from as (

    select
        customer_id,
        sum(events_count) as events_count,
        max(events_stitched_through) as stitched_through
    from {{ this }}
    group by customer_id

),

affected_customers as (

    select event_counts.customer_id
    from event_counts
    left join built_from on event_counts.customer_id = built_from.customer_id
    where built_from.customer_id is null
       or event_counts.events_count <> built_from.events_count
       or event_counts.stitched_through > built_from.stitched_through

),

scoped_events as (

    select events.*
    from events
    inner join affected_customers on events.customer_id = affected_customers.customer_id

),

{% else %}

scoped_events as (

    select * from events

),

{% endif %}

gaps as (

    select
        *,
        lag(occurred_at) over (
            partition by customer_id order by occurred_at, message_id
        ) as previous_occurred_at
    from scoped_events

),

numbered as (

    select
        *,
        cast(sum(
            case
                when previous_occurred_at is null then 1
                when {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'second') }}
                    > {{ var('session_gap_minutes') * 60 }} then 1
                else 0
            end
        ) over (
            partition by customer_id order by occurred_at, message_id
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as session_number
    from gaps

),

categories as (

    select customer_id, session_number,
        {{ dbt.listagg('category', "','", 'order by category') }} as categories_browsed
    from (
        select distinct customer_id, session_number, category
        from numbered
        where event_name = 'Product Viewed' and category is not null
    ) as distinct_categories
    group by customer_id, session_number

),

products as (

    select customer_id, session_number,
        {{ dbt.listagg('product_id', "','", 'order by product_id') }} as product_ids_viewed
    from (
        select distinct customer_id, session_number, product_id
        from numbered
        where event_name = 'Product Viewed' and product_id is not null
    ) as distinct_products
    group by customer_id, session_number

),

aggregated as (

    select
        customer_id,
        session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        min(anonymous_id) as anonymous_id,
        count(*) as events_count,
        count(case when event_type = 'page' then 1 end) as page_views,
        count(case when event_name = 'Product Viewed' then 1 end) as product_views,
        count(case when event_name = 'Product Added' then 1 end) as cart_adds,
        count(case when event_name = 'Checkout Started' then 1 end) as checkouts_started,
        count(case when event_name = 'Order Completed' then 1 end) as orders_completed,
        max(stitched_at) as events_stitched_through
    from numbered
    group by customer_id, session_number

),

final as (

    select
        {{ surrogate_key(['aggregated.customer_id', 'aggregated.started_at']) }} as session_id,
        aggregated.customer_id,
        aggregated.anonymous_id,
        aggregated.session_number,
        aggregated.started_at,
        aggregated.ended_at,
        {{ dbt.datediff('aggregated.started_at', 'aggregated.ended_at', 'second') }}
            as duration_seconds,
        aggregated.events_count,
        aggregated.page_views,
        aggregated.product_views,
        aggregated.cart_adds,
        aggregated.checkouts_started,
        categories.categories_browsed,
        products.product_ids_viewed,
        aggregated.cart_adds > 0 or aggregated.checkouts_started > 0 as has_cart_activity,
        aggregated.orders_completed > 0 as has_order,
        aggregated.events_stitched_through
    from aggregated
    left join categories
        on aggregated.customer_id = categories.customer_id
        and aggregated.session_number = categories.session_number
    left join products
        on aggregated.customer_id = products.customer_id
        and aggregated.session_number = products.session_number

)

select * from final
