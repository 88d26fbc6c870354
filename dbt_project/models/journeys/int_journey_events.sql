{{ config(materialized='view') }}

-- Every stitched event with known_at: the moment it became known as this customer's. An
-- anonymous event counts for the person from when its browser was linked to them, never
-- earlier, so that what the journeys see as of t does not depend on links made after t.
with

events as (

    select * from {{ ref('int_events_stitched') }}

),

identities as (

    select anonymous_id, linked_at from {{ ref('int_identities_stitched') }}

),

final as (

    select
        events.message_id,
        events.customer_id,
        events.anonymous_id,
        events.user_id,
        events.event_type,
        events.event_name,
        events.occurred_at,
        case
            when events.user_id is null
                and events.customer_id <> events.anonymous_id
                and identities.linked_at > events.occurred_at
            then identities.linked_at
            else events.occurred_at
        end as known_at,
        events.is_site_activity,
        events.product_id,
        events.category,
        events.cart_id,
        events.order_id,
        events.price,
        events.quantity,
        events.revenue,
        events.channel,
        events.status,
        events.timezone,
        events.advertising_id,
        events.properties
    from events
    left join identities on events.anonymous_id = identities.anonymous_id

)

select * from final
