with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name = 'Product Viewed'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as viewed_at,
        product_id,
        category,
        price,
        {{ json_text('properties', 'name') }} as product_name
    from messages

)

select * from final
