{{ config(materialized='table') }}

-- Where each customer can be reached, and their time zone, as a history of periods
-- [valid_from, valid_to): one row per (customer, kind) each time the value changes. Kinds:
-- email, phone (identify traits), push_token, messenger_psid (Subscription Updated),
-- advertising_id and timezone (any event's context). A value counts from when its event became
-- known as the customer's, so a plan as of t only uses what was known at t.
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

sightings as (

    select events.customer_id, events.known_at, events.message_id, 'email' as contact_kind,
        identifies.email as contact_value
    from identifies inner join events on identifies.message_id = events.message_id
    where identifies.email is not null

    union all

    select events.customer_id, events.known_at, events.message_id, 'phone', identifies.phone
    from identifies inner join events on identifies.message_id = events.message_id
    where identifies.phone is not null

    union all

    select events.customer_id, events.known_at, events.message_id, 'push_token',
        subscription_updates.push_token
    from subscription_updates
    inner join events on subscription_updates.message_id = events.message_id
    where subscription_updates.push_token is not null

    union all

    select events.customer_id, events.known_at, events.message_id, 'messenger_psid',
        subscription_updates.messenger_psid
    from subscription_updates
    inner join events on subscription_updates.message_id = events.message_id
    where subscription_updates.messenger_psid is not null

    union all

    select customer_id, known_at, message_id, 'advertising_id', advertising_id
    from events
    where advertising_id is not null

    union all

    select customer_id, known_at, message_id, 'timezone', timezone
    from events
    where timezone is not null

),

ordered as (

    select
        *,
        lag(contact_value) over (
            partition by customer_id, contact_kind order by known_at, message_id
        ) as previous_value
    from sightings

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
            partition by customer_id, contact_kind order by known_at, message_id
        ) as valid_to
    from changes

)

select * from final
