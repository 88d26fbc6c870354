-- Each person's latest known contact details, advertising id and time zone as of as_of.
with

identifies as (

    select * from {{ ref('stg_segment__identifies') }}

),

events as (

    select * from {{ ref('int_events_stitched') }}

),

identified_traits as (

    select
        events.customer_id,
        events.occurred_at,
        events.message_id,
        identifies.email,
        identifies.phone,
        identifies.first_name
    from identifies
    inner join events on identifies.message_id = events.message_id

),

latest_traits as (

    select
        customer_id,
        max(email) as email,
        max(phone) as phone,
        max(first_name) as first_name
    from (
        select
            customer_id,
            first_value(email ignore nulls) over latest as email,
            first_value(phone ignore nulls) over latest as phone,
            first_value(first_name ignore nulls) over latest as first_name
        from identified_traits
        window latest as (
            partition by customer_id order by occurred_at desc, message_id desc
            rows between unbounded preceding and unbounded following
        )
    ) as per_identify
    group by customer_id

),

latest_context as (

    select
        customer_id,
        max(timezone) as timezone,
        max(advertising_id) as advertising_id
    from (
        select
            customer_id,
            first_value(timezone ignore nulls) over latest as timezone,
            first_value(advertising_id ignore nulls) over latest as advertising_id
        from events
        window latest as (
            partition by customer_id order by occurred_at desc, message_id desc
            rows between unbounded preceding and unbounded following
        )
    ) as per_event
    group by customer_id

),

final as (

    select
        latest_context.customer_id,
        latest_traits.email,
        latest_traits.phone,
        latest_traits.first_name,
        coalesce(latest_context.timezone, 'UTC') as timezone,
        latest_context.advertising_id
    from latest_context
    left join latest_traits on latest_context.customer_id = latest_traits.customer_id

)

select * from final
