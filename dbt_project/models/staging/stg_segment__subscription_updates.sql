with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track' and event_name = 'Subscription Updated'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as updated_at,
        channel,
        status,
        status = 'subscribed' as is_subscribed,
        {{ json_text('properties', 'source') }} as subscription_source,
        nullif(trim({{ json_text('properties', 'push_token') }}), '') as push_token,
        nullif(trim({{ json_text('properties', 'psid') }}), '') as messenger_psid
    from messages

)

select * from final
