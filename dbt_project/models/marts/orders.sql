-- Orders as of as_of: an order counts as completed unless it was cancelled or refunded by then.
with

orders_completed as (

    select * from {{ ref('stg_segment__orders_completed') }}

),

order_updates as (

    select * from {{ ref('stg_segment__order_updates') }}

),

events as (

    select message_id, customer_id from {{ ref('int_events_stitched') }}

),

statuses as (

    select
        order_id,
        min(case when order_status = 'shipped' then updated_at end) as shipped_at,
        min(case when order_status = 'delivered' then updated_at end) as delivered_at,
        min(case when order_status = 'cancelled' then updated_at end) as cancelled_at,
        min(case when order_status = 'refunded' then updated_at end) as refunded_at,
        max(tracking_url) as tracking_url
    from order_updates
    group by order_id

),

final as (

    select
        orders_completed.order_id,
        events.customer_id,
        orders_completed.cart_id,
        orders_completed.ordered_at,
        orders_completed.revenue,
        orders_completed.discount,
        orders_completed.coupon,
        case
            when statuses.refunded_at is not null then 'refunded'
            when statuses.cancelled_at is not null then 'cancelled'
            else 'completed'
        end as status,
        statuses.refunded_at is null and statuses.cancelled_at is null as is_completed,
        statuses.shipped_at,
        statuses.delivered_at,
        statuses.cancelled_at,
        statuses.refunded_at,
        statuses.tracking_url
    from orders_completed
    inner join events on orders_completed.message_id = events.message_id
    left join statuses on orders_completed.order_id = statuses.order_id

)

select * from final
