{{ config(materialized='table') }}

-- Where each customer can be reached, and their time zone, as a history of periods
-- [valid_from, valid_to) in known time: one row per (customer, kind) each time the value
-- changes. Kinds: email, phone (identify traits), push_token, messenger_psid (Subscription
-- Updated), advertising_id and timezone (any event's context). The latest value wins;
-- int_contacts_resolved is the row valid at as_of.
with

events as (

    select * from {{ ref('int_journey_events') }}

),

identifies as (

    select message_id, email, phone from {{ ref('stg_segment__identifies') }}

),

subscription_updates as (

    select message_id, push_token, messenger_psid
    from {{ ref('stg_segment__subscription_updates') }}

),

values_seen as (

    select message_id, 'email' as contact_kind, email as contact_value
    from identifies where email is not null

    union all

    select message_id, 'phone', phone from identifies where phone is not null

    union all

    select message_id, 'push_token', push_token
    from subscription_updates where push_token is not null

    union all

    select message_id, 'messenger_psid', messenger_psid
    from subscription_updates where messenger_psid is not null

    union all

    select message_id, 'advertising_id', advertising_id
    from events where advertising_id is not null

    union all

    select message_id, 'timezone', timezone from events where timezone is not null

),

sightings as (

    select
        events.customer_id,
        events.known_at,
        values_seen.contact_kind,
        values_seen.contact_value,
        (events.occurred_at, events.message_id) as precedence
    from values_seen
    inner join events on values_seen.message_id = events.message_id

),

-- At each moment something became known, the value is the latest one seen among all those
-- known by then, whenever it was seen: a value known late (an anonymous browser linked later)
-- cannot replace a newer one, and the value as of t only uses what was known at t.
known_values as (

    select distinct
        customer_id,
        contact_kind,
        known_at,
        arg_max(contact_value, precedence) over (
            partition by customer_id, contact_kind order by known_at
            range between unbounded preceding and current row
        ) as contact_value
    from sightings

),

ordered as (

    select
        *,
        lag(contact_value) over (
            partition by customer_id, contact_kind order by known_at
        ) as previous_value
    from known_values

),

changes as (

    select *
    from ordered
    where previous_value is null or previous_value <> contact_value

),

final as (

    select
        customer_id,
        contact_kind,
        contact_value,
        known_at as valid_from,
        lead(known_at) over (
            partition by customer_id, contact_kind order by known_at
        ) as valid_to
    from changes

)

select * from final
