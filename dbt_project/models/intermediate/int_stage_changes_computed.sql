-- Every lifecycle stage change of every person up to as_of, replayed from the moments that
-- matter: first seen, signing up, first browse or cart after signing up, each order, and each
-- cancellation or refund (which takes that order back out of the count from that moment on).
-- The stage after each moment follows the rules of the lifecycle:
--   2+ completed orders: repeat_buyer; 1: buyer; else signed up and shopped since: shopper;
--   else signed up: subscriber; else visitor.
with

events as (

    select * from {{ ref('int_events_stitched') }}

),

orders as (

    select * from {{ ref('orders') }}

),

first_seen as (

    select customer_id, min(occurred_at) as happened_at
    from events
    group by customer_id

),

signups as (

    select customer_id, min(occurred_at) as signed_up_at
    from events
    where {{ is_signup('event_name', 'status') }}
    group by customer_id

),

first_shopping_after_signup as (

    select events.customer_id, min(events.occurred_at) as happened_at
    from events
    inner join signups
        on events.customer_id = signups.customer_id
        and events.occurred_at >= signups.signed_up_at
    where events.event_name in {{ shopping_events() }}
    group by events.customer_id

),

voided_orders as (

    select
        customer_id,
        ordered_at,
        case
            when cancelled_at is null then refunded_at
            when refunded_at is null then cancelled_at
            when cancelled_at < refunded_at then cancelled_at
            else refunded_at
        end as voided_at
    from orders
    where not is_completed

),

moments as (

    select customer_id, happened_at, 0 as signs_up, 0 as shops, 0 as orders_delta
    from first_seen
    union all
    select customer_id, signed_up_at, 1, 0, 0 from signups
    union all
    select customer_id, happened_at, 0, 1, 0 from first_shopping_after_signup
    union all
    select customer_id, ordered_at, 0, 0, 1 from orders where customer_id is not null
    union all
    select
        customer_id,
        case when voided_at < ordered_at then ordered_at else voided_at end,
        0, 0, -1
    from voided_orders
    where customer_id is not null

),

per_moment as (

    select
        customer_id,
        happened_at,
        max(signs_up) as signs_up,
        max(shops) as shops,
        sum(orders_delta) as orders_delta
    from moments
    group by customer_id, happened_at

),

running as (

    select
        customer_id,
        happened_at,
        max(signs_up) over timeline as has_signed_up,
        max(shops) over timeline as has_shopped_since_signup,
        cast(sum(orders_delta) over timeline as {{ dbt.type_bigint() }}) as completed_orders_count
    from per_moment
    window timeline as (
        partition by customer_id order by happened_at
        rows between unbounded preceding and current row
    )

),

staged as (

    select
        customer_id,
        happened_at,
        completed_orders_count,
        case
            when completed_orders_count >= 2 then 'repeat_buyer'
            when completed_orders_count = 1 then 'buyer'
            when has_signed_up = 1 and has_shopped_since_signup = 1 then 'shopper'
            when has_signed_up = 1 then 'subscriber'
            else 'visitor'
        end as stage
    from running

),

with_previous as (

    select
        *,
        lag(stage) over (partition by customer_id order by happened_at) as previous_stage
    from staged

),

final as (

    select
        customer_id,
        previous_stage as from_stage,
        stage as to_stage,
        happened_at as changed_at,
        completed_orders_count
    from with_previous
    where previous_stage is null or previous_stage <> stage

)

select * from final
