with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name = 'Product Reviewed'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as reviewed_at,
        product_id,
        {{ json_integer('properties', 'rating') }} as rating,
        nullif(trim({{ json_text('properties', 'review_body') }}), '') as review_body
    from messages

)

select * from final
