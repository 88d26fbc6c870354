-- One row per order id: a re-sent Order Completed for the same order keeps the first.
with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name = 'Order Completed' and order_id is not null

),

first_per_order as (

    select *
    from messages
    qualify row_number() over (partition by order_id order by occurred_at, message_id) = 1

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as ordered_at,
        order_id,
        cart_id,
        revenue,
        coalesce({{ json_number('properties', 'discount') }}, 0) as discount,
        nullif(trim({{ json_text('properties', 'coupon') }}), '') as coupon,
        {{ json_value('properties', 'products') }} as products
    from first_per_order

)

select * from final
