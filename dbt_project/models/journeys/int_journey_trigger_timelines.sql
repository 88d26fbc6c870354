{{ config(materialized='view') }}

{%- set exit_kinds = ['order', 'cart', 'browse', 'review', 'unsubscribe', 'engage', 'signup'] %}

-- Every journey trigger instance as a timeline, reachable or not (journey_triggers keeps the
-- flows' entrants, segment_memberships the segments'): one row per instance, triggered_at = the
-- first moment its condition held, the context a message needs (known by then) and, per exit
-- kind, the first exit event strictly after it (exit_<kind>_at). The triggers known at t are
-- exactly those with triggered_at <= t, with the exits at or before t, however late this model
-- was built; the planner replays the journeys from that. Which exits end which flow is declared
-- in pipelines/journeys/flows.yml.
with

events as (

    select * from {{ ref('int_journey_events') }}

),

consents as (

    select * from {{ ref('int_consents_historized') }}

),

contact_points as (

    select * from {{ ref('int_contact_points_historized') }}

),

email_subscriptions as (

    select
        'email_subscribed' as trigger,
        'email:' || change_message_id as trigger_id,
        customer_id,
        valid_from as triggered_at
    from consents
    where channel = 'email' and is_consented

),

unioned as (

    select trigger, trigger_id, customer_id, triggered_at,
        null as order_id, null as cart_id, null as product_ids, null as categories,
        incentive, null as amount, null as tracking_url, advertising_id
    from {{ ref('int_journey_signup_triggers') }}

    union all

    select trigger, trigger_id, customer_id, triggered_at,
        null, null, product_ids, categories, null, null, null, null
    from {{ ref('int_journey_browse_triggers') }}

    union all

    select trigger, trigger_id, customer_id, triggered_at,
        null, cart_id, product_ids, categories, null, amount, null, null
    from {{ ref('int_journey_cart_triggers') }}

    union all

    select trigger, trigger_id, customer_id, triggered_at,
        order_id, null, product_ids, null, null, amount, tracking_url, null
    from {{ ref('int_journey_order_triggers') }}

    union all

    select trigger, trigger_id, customer_id, triggered_at,
        null, null, null, null, null, null, null, null
    from email_subscriptions

),

triggers as (

    select * from unioned
    where triggered_at <= {{ as_of() }}

),

exit_events as (

    select
        customer_id,
        known_at as happened_at,
        case
            when event_name = 'Order Completed' then 'order'
            when event_name in ('Product Added', 'Checkout Started') then 'cart'
            when event_name = 'Product Viewed' then 'browse'
            when event_name = 'Product Reviewed' then 'review'
            when event_name in ('Email Opened', 'Email Link Clicked', 'Push Opened') then 'engage'
            else 'signup'
        end as exit_kind
    from events
    where event_name in (
            'Order Completed', 'Product Added', 'Checkout Started', 'Product Viewed',
            'Product Reviewed', 'Email Opened', 'Email Link Clicked', 'Push Opened'
        )
       or {{ is_signup('event_name', 'status') }}

    union all

    select customer_id, valid_from, 'unsubscribe'
    from consents
    where channel = 'email' and not is_consented

),

timeline as (

    -- at equal times an exit or time-zone change sorts before a trigger: exits count only
    -- strictly after the trigger, time zones known at the trigger count
    select customer_id, triggered_at as happened_at, 1 as sort_key, trigger_id,
        {% for kind in exit_kinds %}null as {{ kind }}_at, {% endfor %}null as timezone
    from triggers

    union all

    select customer_id, happened_at, 0, null,
        {% for kind in exit_kinds -%}
        case when exit_kind = '{{ kind }}' then happened_at end,
        {% endfor -%}
        null
    from exit_events

    union all

    select customer_id, valid_from, 0, null,
        {% for kind in exit_kinds %}null, {% endfor %}contact_value
    from contact_points
    where contact_kind = 'timezone'

),

resolved as (

    select
        trigger_id,
        {% for kind in exit_kinds -%}
        min({{ kind }}_at) over later as exit_{{ kind }}_at,
        {% endfor -%}
        last_value(timezone ignore nulls) over earlier as timezone
    from timeline
    window
        later as (
            partition by customer_id order by happened_at, sort_key, trigger_id
            rows between 1 following and unbounded following
        ),
        earlier as (
            partition by customer_id order by happened_at, sort_key, trigger_id
            rows between unbounded preceding and current row
        )

),

final as (

    select
        triggers.trigger,
        triggers.trigger_id,
        triggers.customer_id,
        triggers.triggered_at,
        coalesce(resolved.timezone, 'UTC') as timezone,
        cast(triggers.order_id as {{ dbt.type_string() }}) as order_id,
        cast(triggers.cart_id as {{ dbt.type_string() }}) as cart_id,
        cast(triggers.product_ids as {{ dbt.type_string() }}) as product_ids,
        cast(triggers.categories as {{ dbt.type_string() }}) as categories,
        cast(triggers.incentive as {{ dbt.type_string() }}) as incentive,
        cast(triggers.amount as {{ dbt.type_float() }}) as amount,
        cast(triggers.tracking_url as {{ dbt.type_string() }}) as tracking_url,
        cast(triggers.advertising_id as {{ dbt.type_string() }}) as advertising_id,
        {% for kind in exit_kinds -%}
        resolved.exit_{{ kind }}_at{{ "," if not loop.last }}
        {% endfor %}
    from triggers
    inner join resolved on triggers.trigger_id = resolved.trigger_id

)

select * from final
