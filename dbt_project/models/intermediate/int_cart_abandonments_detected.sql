-- Each person's open cart: their latest cart add or checkout, with no order in that session or
-- later (nor for that cart), once they have been idle for cart_idle_minutes. A cart emptied by
-- removals, without a checkout, is not abandoned.
with

events as (

    select * from {{ ref('int_events_stitched') }}
    where event_name in ('Product Added', 'Product Removed', 'Checkout Started', 'Order Completed')

),

sessions as (

    select * from {{ ref('sessions') }}

),

latest_cart_activity as (

    select customer_id, cart_id, occurred_at as last_carted_at
    from events
    where event_name in ('Product Added', 'Checkout Started')
    qualify row_number() over (
        partition by customer_id order by occurred_at desc, message_id desc
    ) = 1

),

cart_events as (

    select events.*
    from events
    inner join latest_cart_activity
        on events.customer_id = latest_cart_activity.customer_id
        and coalesce(events.cart_id, '') = coalesce(latest_cart_activity.cart_id, '')
    where events.event_name in ('Product Added', 'Product Removed', 'Checkout Started')

),

cart_lines as (

    select
        customer_id,
        product_id,
        max(category) as category,
        max(price) as price,
        sum(case when event_name = 'Product Added' then coalesce(quantity, 1)
                 else -coalesce(quantity, 1) end) as quantity
    from cart_events
    where event_name in ('Product Added', 'Product Removed') and product_id is not null
    group by customer_id, product_id

),

cart_contents as (

    select
        customer_id,
        {{ dbt.listagg('product_id', "','", 'order by product_id') }} as product_ids,
        cast(sum(quantity) as {{ dbt.type_bigint() }}) as items_count,
        sum(price * quantity) as cart_value
    from cart_lines
    where quantity > 0
    group by customer_id

),

cart_categories as (

    select customer_id, {{ dbt.listagg('category', "','", 'order by category') }} as categories
    from (
        select distinct customer_id, category from cart_lines
        where quantity > 0 and category is not null
    ) as distinct_categories
    group by customer_id

),

checkouts as (

    select distinct customer_id
    from cart_events
    where event_name = 'Checkout Started'

),

cart_sessions as (

    select
        latest_cart_activity.*,
        sessions.session_id,
        sessions.started_at as session_started_at
    from latest_cart_activity
    inner join sessions
        on latest_cart_activity.customer_id = sessions.customer_id
        and latest_cart_activity.last_carted_at between sessions.started_at and sessions.ended_at

),

idle_moments as (

    -- the end of the first session, from the cart's on, that was followed by a long enough lull
    select
        cart_sessions.customer_id,
        min({{ dbt.dateadd('minute', var('cart_idle_minutes'), 'later.ended_at') }}) as idle_since
    from cart_sessions
    inner join (
        select
            *,
            lead(started_at) over (partition by customer_id order by started_at) as next_started_at
        from sessions
    ) as later
        on cart_sessions.customer_id = later.customer_id
        and later.started_at >= cart_sessions.session_started_at
    where later.next_started_at is null
       or later.next_started_at
          >= {{ dbt.dateadd('minute', var('cart_idle_minutes'), 'later.ended_at') }}
    group by cart_sessions.customer_id

),

ordered_since as (

    select distinct cart_sessions.customer_id
    from cart_sessions
    inner join events
        on events.event_name = 'Order Completed'
        and (
            (events.customer_id = cart_sessions.customer_id
                and events.occurred_at >= cart_sessions.session_started_at)
            or events.cart_id = cart_sessions.cart_id
        )

),

final as (

    select
        cart_sessions.customer_id,
        cart_sessions.cart_id,
        cart_sessions.session_id,
        cart_sessions.last_carted_at,
        idle_moments.idle_since as entered_at,
        cart_contents.product_ids,
        cart_categories.categories,
        coalesce(cart_contents.items_count, 0) as items_count,
        cart_contents.cart_value,
        checkouts.customer_id is not null as has_checkout
    from cart_sessions
    inner join idle_moments on cart_sessions.customer_id = idle_moments.customer_id
    left join cart_contents on cart_sessions.customer_id = cart_contents.customer_id
    left join cart_categories on cart_sessions.customer_id = cart_categories.customer_id
    left join checkouts on cart_sessions.customer_id = checkouts.customer_id
    left join ordered_since on cart_sessions.customer_id = ordered_since.customer_id
    where ordered_since.customer_id is null
      and idle_moments.idle_since <= {{ as_of() }}
      and (cart_contents.customer_id is not null or checkouts.customer_id is not null)

)

select * from final
