{{ config(materialized='table') }}

-- The one definition of consent: per customer and channel, a history of periods
-- [valid_from, valid_to) in known time, one row per change of state. Opt-outs are Subscription
-- Updated (unsubscribed), the Unsubscribed event of a channel (email when none is given), hard
-- email bounces, spam reports and failed SMS (carriers fail sends to numbers that replied
-- STOP); only Subscription Updated opts in. int_consents_resolved is its row valid at as_of.
with

subscription_updates as (

    select * from {{ ref('stg_segment__subscription_updates') }}

),

engagements as (

    select * from {{ ref('stg_segment__message_engagements') }}

),

events as (

    select message_id, customer_id, occurred_at, known_at from {{ ref('int_journey_events') }}

),

changes as (

    select message_id, channel, is_subscribed as is_consented, status as reason
    from subscription_updates
    where channel in ('email', 'sms', 'push', 'messenger')
      and status in ('subscribed', 'unsubscribed')

    union all

    select message_id, channel, false, engagement
    from engagements
    where channel in ('email', 'sms', 'push', 'messenger')
      and (
          engagement in ('unsubscribed', 'spam_report', 'failed')
          or (engagement = 'bounced' and coalesce(bounce_type, 'hard') <> 'soft')
      )

),

stitched as (

    select
        events.customer_id,
        events.known_at,
        events.occurred_at as changed_at,
        changes.*,
        -- the latest change wins, an opt-out wins a tie; message_id only makes it deterministic
        (events.occurred_at, not changes.is_consented, changes.message_id) as precedence
    from changes
    inner join events on changes.message_id = events.message_id

),

-- At each moment something became known, the state is the winning change among all those
-- known by then, whenever they happened: a change known late (an anonymous browser linked
-- later) cannot undo a newer one, and the state as of t only uses what was known at t.
known_states as (

    select distinct
        customer_id,
        channel,
        known_at,
        arg_max(message_id, precedence) over known_by_then as change_message_id
    from stitched
    window known_by_then as (
        partition by customer_id, channel order by known_at
        range between unbounded preceding and current row
    )

),

with_previous as (

    select
        known_states.*,
        stitched.is_consented,
        stitched.reason,
        stitched.changed_at,
        lag(stitched.is_consented) over (
            partition by known_states.customer_id, known_states.channel
            order by known_states.known_at
        ) as previous_is_consented
    from known_states
    inner join stitched on known_states.change_message_id = stitched.message_id

),

state_changes as (

    select *
    from with_previous
    where previous_is_consented is null or previous_is_consented <> is_consented

),

final as (

    select
        customer_id,
        channel,
        is_consented,
        reason,
        known_at as valid_from,
        lead(known_at) over (partition by customer_id, channel order by known_at) as valid_to,
        changed_at,
        change_message_id
    from state_changes

)

select * from final
