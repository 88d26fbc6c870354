with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track'
      and event_name in ('Order Shipped', 'Order Delivered', 'Order Cancelled', 'Order Refunded')
      and order_id is not null

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as updated_at,
        order_id,
        lower(replace(event_name, 'Order ', '')) as order_status,
        {{ json_text('properties', 'tracking_url') }} as tracking_url
    from messages

)

select * from final
