-- Feedback from email, SMS and push providers about messages sent to a person.
with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where event_type = 'track'
      and event_name in (
          'Email Delivered', 'Email Opened', 'Email Link Clicked', 'Email Bounced',
          'Email Marked as Spam', 'Unsubscribed', 'SMS Delivered', 'SMS Failed', 'Push Opened'
      )

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        occurred_at as engaged_at,
        event_name,
        case
            when event_name like 'Email %' then 'email'
            when event_name like 'SMS %' then 'sms'
            when event_name like 'Push %' then 'push'
            else coalesce(channel, 'email')
        end as channel,
        case event_name
            when 'Email Delivered' then 'delivered'
            when 'Email Opened' then 'opened'
            when 'Email Link Clicked' then 'clicked'
            when 'Email Bounced' then 'bounced'
            when 'Email Marked as Spam' then 'spam_report'
            when 'Unsubscribed' then 'unsubscribed'
            when 'SMS Delivered' then 'delivered'
            when 'SMS Failed' then 'failed'
            when 'Push Opened' then 'opened'
        end as engagement,
        {{ json_text('properties', 'message_id') }} as about_message_id,
        lower({{ json_text('properties', 'bounce_type') }}) as bounce_type,
        {{ json_text('properties', 'error_code') }} as error_code
    from messages

)

select * from final
