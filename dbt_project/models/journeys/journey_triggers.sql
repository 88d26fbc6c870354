{{ config(materialized='table') }}

-- The journey trigger timelines that enter a flow (see int_journey_trigger_timelines): an
-- abandonment by someone we could not reach at the time is not an entry.
with

timelines as (

    select * from {{ ref('int_journey_trigger_timelines') }}

),

contact_points as (

    select * from {{ ref('int_contact_points_historized') }}

),

reachable_from as (

    select customer_id, min(valid_from) as reachable_at
    from contact_points
    where contact_kind in ('email', 'phone', 'push_token', 'messenger_psid')
    group by customer_id

),

final as (

    select timelines.*
    from timelines
    left join reachable_from on timelines.customer_id = reachable_from.customer_id
    where timelines.trigger not in ('browse_idle', 'cart_idle')
       or reachable_from.reachable_at <= timelines.triggered_at

)

select * from final
