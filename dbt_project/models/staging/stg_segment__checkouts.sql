with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name = 'Checkout Started'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as started_at,
        cart_id,
        revenue,
        {{ json_value('properties', 'products') }} as products
    from messages

)

select * from final
