{{ config(materialized='view') }}

-- cart_idle triggers: a cart (cart_id) with no further cart activity for cart_idle_minutes after
-- an add, removal or checkout, no order of that cart by then and no order by the customer in
-- the idle time, and something still in it. Fires at the end of the idle time; returning to the
-- cart later and leaving again is a new trigger.
with

events as (

    select * from {{ ref('int_journey_events') }}
    where event_name in ('Product Added', 'Product Removed', 'Checkout Started', 'Order Completed')

),

cart_events as (

    select * from events
    where event_name in ('Product Added', 'Product Removed', 'Checkout Started')
      and cart_id is not null

),

orders as (

    select customer_id, cart_id, known_at as ordered_at
    from events
    where event_name = 'Order Completed'

),

with_next as (

    select
        *,
        lead(occurred_at) over (
            partition by customer_id, cart_id order by occurred_at, message_id
        ) as next_occurred_at
    from cart_events

),

idle_points as (

    select
        customer_id,
        cart_id,
        message_id,
        occurred_at as last_carted_at,
        {{ dbt.dateadd('minute', var('cart_idle_minutes'), 'occurred_at') }} as idle_at
    from with_next
    where next_occurred_at is null
       or {{ dbt.datediff('occurred_at', 'next_occurred_at', 'second') }}
          > {{ var('cart_idle_minutes') * 60 }}

),

open_idles as (

    select idle_points.*
    from idle_points
    where not exists (
        select 1 from orders
        where orders.ordered_at <= idle_points.idle_at
          and (
              orders.cart_id = idle_points.cart_id
              or (orders.customer_id = idle_points.customer_id
                  and orders.ordered_at >= idle_points.last_carted_at)
          )
    )

),

lines as (

    select
        open_idles.message_id as idle_message_id,
        cart_events.product_id,
        max(cart_events.category) as category,
        max(cart_events.price) as price,
        sum(case cart_events.event_name
            when 'Product Added' then coalesce(cart_events.quantity, 1)
            when 'Product Removed' then -coalesce(cart_events.quantity, 1)
            else 0 end) as quantity
    from open_idles
    inner join cart_events
        on cart_events.customer_id = open_idles.customer_id
        and cart_events.cart_id = open_idles.cart_id
        and cart_events.occurred_at <= open_idles.last_carted_at
    where cart_events.product_id is not null
    group by open_idles.message_id, cart_events.product_id

),

contents as (

    select
        idle_message_id,
        {{ dbt.listagg('product_id', "','", 'order by product_id') }} as product_ids,
        sum(coalesce(price, 0) * quantity) as cart_value
    from lines
    where quantity > 0
    group by idle_message_id

),

categories as (

    select idle_message_id, {{ dbt.listagg('category', "','", 'order by category') }} as categories
    from (
        select distinct idle_message_id, category from lines
        where quantity > 0 and category is not null
    ) as distinct_categories
    group by idle_message_id

),

checkouts as (

    select open_idles.message_id as idle_message_id, max(cart_events.revenue) as revenue
    from open_idles
    inner join cart_events
        on cart_events.customer_id = open_idles.customer_id
        and cart_events.cart_id = open_idles.cart_id
        and cart_events.occurred_at <= open_idles.last_carted_at
    where cart_events.event_name = 'Checkout Started'
    group by open_idles.message_id

),

final as (

    select
        'cart_idle' as trigger,
        'cart:' || open_idles.message_id as trigger_id,
        open_idles.customer_id,
        open_idles.idle_at as triggered_at,
        open_idles.cart_id,
        contents.product_ids,
        categories.categories,
        coalesce(contents.cart_value, checkouts.revenue) as amount
    from open_idles
    left join contents on open_idles.message_id = contents.idle_message_id
    left join categories on open_idles.message_id = categories.idle_message_id
    left join checkouts on open_idles.message_id = checkouts.idle_message_id
    where contents.idle_message_id is not null or checkouts.idle_message_id is not null

)

select * from final
