-- Consent per channel as of as_of: the latest opt-in or opt-out wins, and when both happen at
-- the same moment the opt-out wins. Opt-outs are Subscription Updated (unsubscribed), the
-- Unsubscribed event of a channel (email when none is given), hard email bounces, spam
-- reports and failed SMS (carriers fail sends to numbers that replied STOP).
with

subscription_updates as (

    select * from {{ ref('stg_segment__subscription_updates') }}

),

engagements as (

    select * from {{ ref('stg_segment__message_engagements') }}

),

events as (

    select message_id, customer_id from {{ ref('int_events_stitched') }}

),

consent_changes as (

    select message_id, updated_at as changed_at, channel, is_subscribed, push_token, messenger_psid
    from subscription_updates
    where channel in ('email', 'sms', 'push', 'messenger') and status in ('subscribed', 'unsubscribed')

    union all

    select message_id, engaged_at, channel, false, null, null
    from engagements
    where engagement in ('unsubscribed', 'spam_report', 'failed')
       or (engagement = 'bounced' and coalesce(bounce_type, 'hard') <> 'soft')

),

stitched_changes as (

    select events.customer_id, consent_changes.*
    from consent_changes
    inner join events on consent_changes.message_id = events.message_id

),

latest_per_channel as (

    select *
    from stitched_changes
    qualify row_number() over (
        partition by customer_id, channel
        order by changed_at desc, case when is_subscribed then 1 else 0 end, message_id desc
    ) = 1

),

latest_handles as (

    select
        customer_id,
        max(push_token) as push_token,
        max(messenger_psid) as messenger_psid
    from (
        select
            customer_id,
            first_value(push_token ignore nulls) over latest as push_token,
            first_value(messenger_psid ignore nulls) over latest as messenger_psid
        from stitched_changes
        window latest as (
            partition by customer_id order by changed_at desc, message_id desc
            rows between unbounded preceding and unbounded following
        )
    ) as per_change
    group by customer_id

),

final as (

    select
        latest_handles.customer_id,
        coalesce(max(case when latest.channel = 'email' then latest.is_subscribed end), false)
            as email_consent,
        coalesce(max(case when latest.channel = 'sms' then latest.is_subscribed end), false)
            as sms_consent,
        coalesce(max(case when latest.channel = 'push' then latest.is_subscribed end), false)
            as push_consent,
        coalesce(max(case when latest.channel = 'messenger' then latest.is_subscribed end), false)
            as messenger_consent,
        max(case when latest.channel = 'email' and latest.is_subscribed
            then latest.changed_at end) as email_opted_in_at,
        max(case when latest.channel = 'email' and not latest.is_subscribed
            then latest.changed_at end) as email_opted_out_at,
        max(latest.changed_at) as consent_changed_at,
        latest_handles.push_token,
        latest_handles.messenger_psid
    from latest_handles
    left join latest_per_channel as latest on latest_handles.customer_id = latest.customer_id
    group by latest_handles.customer_id, latest_handles.push_token, latest_handles.messenger_psid

)

select * from final
