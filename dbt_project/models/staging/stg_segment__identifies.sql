with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'identify'

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as identified_at,
        nullif(lower(trim({{ json_text('traits', 'email') }})), '') as email,
        nullif(trim({{ json_text('traits', 'phone') }}), '') as phone,
        nullif(trim(coalesce(
            {{ json_text('traits', 'first_name') }},
            {{ json_text('traits', 'firstName') }}
        )), '') as first_name,
        advertising_id,
        timezone
    from messages

)

select * from final
