{{ config(materialized='table') }}

-- Consent per customer and channel as a history of periods [valid_from, valid_to): each row is
-- a change of state (opted in or out), with the reason. Opt-outs are the same as in
-- int_consents_resolved (unsubscribes, STOP/failed SMS, hard bounces, spam reports); at equal
-- times the opt-out wins. A change counts from when it became known as the customer's.
with

subscription_updates as (

    select * from {{ ref('stg_segment__subscription_updates') }}

),

engagements as (

    select * from {{ ref('stg_segment__message_engagements') }}

),

events as (

    select message_id, customer_id, known_at from {{ ref('int_journey_events') }}

),

changes as (

    select message_id, channel, is_subscribed as is_consented, status as reason
    from subscription_updates
    where channel in ('email', 'sms', 'push', 'messenger')
      and status in ('subscribed', 'unsubscribed')

    union all

    select
        message_id,
        channel,
        false,
        case engagement when 'bounced' then 'bounced' else engagement end
    from engagements
    where channel in ('email', 'sms', 'push', 'messenger')
      and (
          engagement in ('unsubscribed', 'spam_report', 'failed')
          or (engagement = 'bounced' and coalesce(bounce_type, 'hard') <> 'soft')
      )

),

stitched as (

    select events.customer_id, events.known_at as changed_at, changes.*
    from changes
    inner join events on changes.message_id = events.message_id

),

ordered as (

    select
        *,
        lag(is_consented) over timeline as previous_is_consented
    from stitched
    window timeline as (
        partition by customer_id, channel
        order by changed_at, case when is_consented then 0 else 1 end, message_id
    )

),

state_changes as (

    select *
    from ordered
    where previous_is_consented is null or previous_is_consented <> is_consented

),

final as (

    select
        customer_id,
        channel,
        is_consented,
        reason,
        changed_at as valid_from,
        lead(changed_at) over (
            partition by customer_id, channel
            order by changed_at, case when is_consented then 0 else 1 end, message_id
        ) as valid_to,
        message_id as change_message_id
    from state_changes

)

select * from final
