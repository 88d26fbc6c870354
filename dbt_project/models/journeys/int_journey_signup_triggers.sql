{{ config(materialized='view') }}

-- Triggers around signing up: signed_up (the first sign-up or channel opt-in),
-- welcome_unengaged (welcome_window_days after it, with no open, click or order in between) and
-- anonymous_visit (the first event with an advertising id before any sign-up).
with

events as (

    select * from {{ ref('int_journey_events') }}

),

signups as (

    select
        customer_id,
        message_id,
        known_at as signed_up_at,
        {{ json_text('properties', 'incentive') }} as incentive
    from events
    where {{ is_signup('event_name', 'status') }}
    qualify row_number() over (partition by customer_id order by known_at, message_id) = 1

),

engagements as (

    select customer_id, known_at
    from events
    where event_name in ('Email Opened', 'Email Link Clicked', 'Push Opened', 'Order Completed')

),

welcome_ends as (

    select
        signups.customer_id,
        signups.message_id,
        {{ dbt.dateadd('day', var('welcome_window_days'), 'signups.signed_up_at') }} as ends_at,
        signups.signed_up_at
    from signups

),

unengaged as (

    select welcome_ends.*
    from welcome_ends
    where not exists (
        select 1 from engagements
        where engagements.customer_id = welcome_ends.customer_id
          and engagements.known_at >= welcome_ends.signed_up_at
          and engagements.known_at <= welcome_ends.ends_at
    )

),

first_ad_sightings as (

    select events.customer_id, events.message_id, events.known_at, events.advertising_id
    from events
    left join signups on events.customer_id = signups.customer_id
    where events.advertising_id is not null
      and (signups.signed_up_at is null or events.known_at < signups.signed_up_at)
    qualify row_number() over (
        partition by events.customer_id order by events.known_at, events.message_id
    ) = 1

),

final as (

    select
        'signed_up' as trigger,
        'signup:' || message_id as trigger_id,
        customer_id,
        signed_up_at as triggered_at,
        incentive,
        cast(null as {{ dbt.type_string() }}) as advertising_id
    from signups

    union all

    select
        'welcome_unengaged',
        'unengaged:' || message_id,
        customer_id,
        ends_at,
        null,
        null
    from unengaged

    union all

    select
        'anonymous_visit',
        'visit:' || message_id,
        customer_id,
        known_at,
        null,
        advertising_id
    from first_ad_sightings

)

select * from final
