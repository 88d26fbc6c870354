with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'page'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as viewed_at,
        {{ json_text('properties', 'url') }} as url,
        {{ json_text('properties', 'path') }} as path,
        {{ json_text('properties', 'title') }} as title,
        {{ json_text('properties', 'referrer') }} as referrer
    from messages

)

select * from final
