{{ config(materialized='view') }}

-- Order triggers: order_completed, order_shipped and order_delivered (the first event of each
-- kind per order), and churn_risk: a buyer with no new order by the earlier of (a) the last
-- order + lapsed_rhythm_multiplier x their own rhythm (at least a day; lapsed_default_days for
-- one order) and (b) the first churn score at or above churn_threshold scored after that order.
with

events as (

    select * from {{ ref('int_journey_events') }}
    where event_name in ('Order Completed', 'Order Shipped', 'Order Delivered')
      and order_id is not null

),

order_products as (

    select order_id, {{ dbt.listagg('product_id', "','", 'order by product_id') }} as product_ids
    from (
        select distinct order_id, product_id from {{ ref('stg_segment__order_products') }}
        where product_id is not null
    ) as distinct_products
    group by order_id

),

churn_scores as (

    select customer_id, as_of as scored_as_of, churn_score
    from {{ source('ml', 'churn_scores') }}
    where as_of <= {{ as_of() }} and churn_score >= {{ var('churn_threshold') }}

),

firsts as (

    select *
    from events
    qualify row_number() over (
        partition by order_id, event_name order by known_at, message_id
    ) = 1

),

completed as (

    select
        customer_id,
        order_id,
        known_at as ordered_at,
        revenue,
        row_number() over (partition by customer_id order by known_at, order_id) as order_number,
        min(known_at) over (partition by customer_id) as first_ordered_at,
        lead(known_at) over (partition by customer_id order by known_at, order_id)
            as next_ordered_at
    from firsts
    where event_name = 'Order Completed'

),

order_updates as (

    select
        case firsts.event_name
            when 'Order Completed' then 'order_completed'
            when 'Order Shipped' then 'order_shipped'
            else 'order_delivered'
        end as trigger,
        'order:' || firsts.order_id || ':' || lower(replace(firsts.event_name, 'Order ', ''))
            as trigger_id,
        firsts.customer_id,
        firsts.known_at as triggered_at,
        firsts.order_id,
        order_products.product_ids,
        completed.revenue as amount,
        {{ json_text('firsts.properties', 'tracking_url') }} as tracking_url
    from firsts
    left join completed on firsts.order_id = completed.order_id
    left join order_products on firsts.order_id = order_products.order_id

),

rhythms as (

    select
        *,
        {{ dbt.dateadd(
            'second',
            "cast(86400 * case when order_number > 1 then "
                ~ var('lapsed_rhythm_multiplier') ~ " * greatest(1.0, "
                ~ days_between('first_ordered_at', 'ordered_at') ~ " / (order_number - 1)) else "
                ~ var('lapsed_default_days') ~ " end as bigint)",
            'ordered_at') }} as lapses_at
    from completed

),

crossings as (

    select rhythms.order_id, min(churn_scores.scored_as_of) as crossed_at
    from rhythms
    inner join churn_scores
        on churn_scores.customer_id = rhythms.customer_id
        and churn_scores.scored_as_of > rhythms.ordered_at
    group by rhythms.order_id

),

lapses as (

    select
        rhythms.*,
        case
            when crossings.crossed_at < rhythms.lapses_at then crossings.crossed_at
            else rhythms.lapses_at
        end as lapsed_at
    from rhythms
    left join crossings on rhythms.order_id = crossings.order_id

),

final as (

    select * from order_updates

    union all

    select
        'churn_risk',
        'lapse:' || lapses.order_id,
        lapses.customer_id,
        lapses.lapsed_at,
        lapses.order_id,
        order_products.product_ids,
        lapses.revenue,
        null
    from lapses
    left join order_products on lapses.order_id = order_products.order_id
    where lapses.next_ordered_at is null or lapses.next_ordered_at > lapses.lapsed_at

)

select * from final
