with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name = 'Signed Up'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as signed_up_at,
        {{ json_text('properties', 'form') }} as form,
        {{ json_text('properties', 'incentive') }} as incentive
    from messages

)

select * from final
