{{ config(materialized='view') }}

{%- set idle_seconds = [var('cart_idle_minutes'), var('session_gap_minutes')] | max * 60 %}

-- cart_idle triggers: a cart (cart_id) added to or checked out, then the customer idle (no site
-- activity) for cart_idle_minutes, with no order of that cart by then, no order by the customer
-- since the cart's last activity, and something still in it. Fires at the end of the idle time
-- (once the session is surely over too, as for browse_idle); returning and leaving again is a
-- new trigger.
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

sessions as (

    select
        *,
        lead(started_at) over (partition by customer_id order by started_at) as next_started_at
    from {{ ref('sessions') }}

),

lulls as (

    -- the ends of the sessions after which the customer stayed away for the idle time
    select customer_id, ended_at
    from sessions
    where next_started_at is null
       or {{ dbt.datediff('ended_at', 'next_started_at', 'second') }} > {{ idle_seconds }}

),

cart_event_lulls as (

    select cart_events.message_id, min(lulls.ended_at) as lull_at
    from cart_events
    inner join lulls
        on cart_events.customer_id = lulls.customer_id
        and lulls.ended_at >= cart_events.occurred_at
    group by cart_events.message_id

),

idle_points as (

    -- each cart's last activity before the customer went idle
    select
        cart_events.customer_id,
        cart_events.cart_id,
        cart_events.message_id,
        cart_events.occurred_at as last_carted_at,
        {{ dbt.dateadd('second', idle_seconds, 'cart_event_lulls.lull_at') }} as idle_at
    from cart_events
    inner join cart_event_lulls on cart_events.message_id = cart_event_lulls.message_id
    qualify row_number() over (
        partition by cart_events.customer_id, cart_events.cart_id, cart_event_lulls.lull_at
        order by cart_events.occurred_at desc, cart_events.message_id desc
    ) = 1

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
        sessions.session_id,
        open_idles.cart_id,
        contents.product_ids,
        categories.categories,
        coalesce(contents.cart_value, checkouts.revenue) as amount
    from open_idles
    inner join sessions
        on open_idles.customer_id = sessions.customer_id
        and open_idles.last_carted_at between sessions.started_at and sessions.ended_at
    left join contents on open_idles.message_id = contents.idle_message_id
    left join categories on open_idles.message_id = categories.idle_message_id
    left join checkouts on open_idles.message_id = checkouts.idle_message_id
    where contents.idle_message_id is not null or checkouts.idle_message_id is not null

)

select * from final
