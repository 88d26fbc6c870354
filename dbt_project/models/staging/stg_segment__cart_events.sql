with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name in ('Product Added', 'Product Removed')

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as updated_at,
        case event_name when 'Product Added' then 'added' else 'removed' end as cart_action,
        cart_id,
        product_id,
        category,
        price,
        coalesce(quantity, 1) as quantity
    from messages

)

select * from final
