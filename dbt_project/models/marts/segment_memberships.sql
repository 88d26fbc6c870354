-- Who is in which journey segment as of as_of, since when, and why (the context columns that
-- the messages of each flow are built from). trigger_id names the episode: a new trigger is a
-- new entry into the flow, the same trigger on the next run is the same entry.
with

customers as (

    select * from {{ ref('customers') }}

),

trigger_sessions as (

    select trigger_id, session_id from {{ ref('int_journey_browse_triggers') }}
    union all
    select trigger_id, session_id from {{ ref('int_journey_cart_triggers') }}

),

abandonments as (

    -- the journeys' own browse_idle and cart_idle triggers, so that segments and messages
    -- agree: each person's latest one of each kind that no exit of its flow has ended yet (both
    -- flows exit on a cart add or checkout and on an order, see pipelines/journeys/flows.yml)
    select timelines.*, trigger_sessions.session_id
    from {{ ref('int_journey_trigger_timelines') }} as timelines
    left join trigger_sessions on timelines.trigger_id = trigger_sessions.trigger_id
    where timelines.trigger in ('browse_idle', 'cart_idle')
      and (timelines.exit_cart_at is null or timelines.exit_cart_at > {{ as_of() }})
      and (timelines.exit_order_at is null or timelines.exit_order_at > {{ as_of() }})
    qualify row_number() over (
        partition by timelines.customer_id, timelines.trigger
        order by timelines.triggered_at desc, timelines.trigger_id desc
    ) = 1

),

review_requests as (

    select * from {{ ref('int_review_requests_due') }}

),

sent_messages as (

    select * from {{ ref('stg_journeys__sent_messages') }}

),

reachable as (

    select * from customers where is_reachable

),

last_emailed as (

    select customer_id, max(sent_at) as last_sent_at
    from sent_messages
    where channel = 'email'
    group by customer_id

),

cadence_clock as (

    select
        reachable.customer_id,
        -- the later of: opted in, last email from the engine, last delivery reported by the ESP
        {{ latest_of([
            'reachable.email_opted_in_at',
            'last_emailed.last_sent_at',
            'reachable.last_email_delivered_at',
        ]) }} as last_emailed_at,
        reachable.email_opted_in_at
    from reachable
    left join last_emailed on reachable.customer_id = last_emailed.customer_id
    where reachable.email_consent and reachable.email is not null

),

abandoners as (

    -- one definition of browse and cart abandonment: the journey triggers still open at as_of
    select
        case abandonments.trigger
            when 'browse_idle' then 'browse_abandoners' else 'cart_abandoners'
        end as segment,
        abandonments.customer_id,
        abandonments.triggered_at as entered_at,
        abandonments.trigger_id,
        abandonments.session_id,
        abandonments.cart_id,
        cast(null as {{ dbt.type_string() }}) as order_id,
        abandonments.categories,
        abandonments.product_ids
    from abandonments
    inner join reachable on abandonments.customer_id = reachable.customer_id
    where abandonments.trigger in ('browse_idle', 'cart_idle')

),

never_purchased as (

    select
        'never_purchased',
        customer_id,
        signed_up_at,
        cast(signed_up_at as {{ dbt.type_string() }}),
        null, null, null, null, null
    from reachable
    where signed_up_at is not null and orders_count = 0

),

not_engaged as (

    select
        'not_engaged',
        customer_id,
        {{ dbt.dateadd('day', var('welcome_window_days'), 'signed_up_at') }},
        cast(signed_up_at as {{ dbt.type_string() }}),
        null, null, null, null, null
    from reachable
    where signed_up_at is not null
      and {{ dbt.dateadd('day', var('welcome_window_days'), 'signed_up_at') }} <= {{ as_of() }}
      and (last_email_engaged_at is null or last_email_engaged_at < signed_up_at)
      and placed_orders_count = 0

),

cadence_due as (

    select
        'cadence_due',
        customer_id,
        {{ dbt.dateadd('day', var('cadence_days'), 'last_emailed_at') }},
        cast({{ dbt.dateadd('day', var('cadence_days'), 'last_emailed_at') }}
            as {{ dbt.type_string() }}),
        null, null, null, null, null
    from cadence_clock
    where last_emailed_at is not null
      and {{ dbt.dateadd('day', var('cadence_days'), 'last_emailed_at') }} <= {{ as_of() }}

),

review_due as (

    select
        'review_due',
        review_requests.customer_id,
        review_requests.entered_at,
        review_requests.order_id,
        null,
        null,
        review_requests.order_id,
        review_requests.categories,
        review_requests.product_ids
    from review_requests
    inner join reachable on review_requests.customer_id = reachable.customer_id

),

visitor_retargeting as (

    select
        'visitor_retargeting',
        customer_id,
        first_seen_at,
        customer_id,
        null, null, null, null, null
    from customers
    where lifecycle_stage = 'visitor' and signed_up_at is null and advertising_id is not null

),

lapsed as (

    select
        'lapsed',
        customer_id,
        case
            when churn_score is not null then churn_scored_as_of
            else {{ dbt.dateadd(
                'second',
                "cast(86400 * coalesce(" ~ var('lapsed_rhythm_multiplier')
                    ~ " * avg_days_between_orders, " ~ var('lapsed_default_days') ~ ") as bigint)",
                'last_order_at') }}
        end,
        cast(last_order_at as {{ dbt.type_string() }}),
        null, null, null, null, null
    from reachable
    where lifecycle_stage in ('buyer', 'repeat_buyer')
      and (
          churn_score >= {{ var('churn_threshold') }}
          or (
              churn_score is null
              and days_since_last_order > coalesce(
                  {{ var('lapsed_rhythm_multiplier') }} * avg_days_between_orders,
                  {{ var('lapsed_default_days') }}
              )
          )
      )

),

unioned as (

    select * from abandoners
    union all select * from never_purchased
    union all select * from not_engaged
    union all select * from cadence_due
    union all select * from review_due
    union all select * from visitor_retargeting
    union all select * from lapsed

),

final as (

    select
        {{ surrogate_key(['segment', 'customer_id', 'trigger_id']) }} as segment_membership_id,
        unioned.*
    from unioned

)

select * from final
