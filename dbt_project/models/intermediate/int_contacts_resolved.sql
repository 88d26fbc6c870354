-- Each person's contact details, advertising id and time zone as of as_of: the values of
-- int_contact_points_historized valid at as_of (the latest seen), and the latest first name.
with

events as (

    select * from {{ ref('int_events_stitched') }}

),

contact_points as (

    select * from {{ ref('int_contact_points_historized') }}
    where valid_from <= {{ as_of() }} and (valid_to is null or valid_to > {{ as_of() }})

),

identifies as (

    select message_id, first_name from {{ ref('stg_segment__identifies') }}
    where first_name is not null

),

-- a name is not a way to reach anyone, so it is not a contact point
first_names as (

    select events.customer_id, identifies.first_name
    from identifies
    inner join events on identifies.message_id = events.message_id
    qualify row_number() over (
        partition by events.customer_id order by events.occurred_at desc, events.message_id desc
    ) = 1

),

current_points as (

    select
        customer_id,
        max(case when contact_kind = 'email' then contact_value end) as email,
        max(case when contact_kind = 'phone' then contact_value end) as phone,
        max(case when contact_kind = 'push_token' then contact_value end) as push_token,
        max(case when contact_kind = 'messenger_psid' then contact_value end) as messenger_psid,
        max(case when contact_kind = 'advertising_id' then contact_value end) as advertising_id,
        max(case when contact_kind = 'timezone' then contact_value end) as timezone
    from contact_points
    group by customer_id

),

customers as (

    select distinct customer_id from events

),

final as (

    select
        customers.customer_id,
        current_points.email,
        current_points.phone,
        first_names.first_name,
        coalesce(current_points.timezone, 'UTC') as timezone,
        current_points.advertising_id,
        current_points.push_token,
        current_points.messenger_psid
    from customers
    left join current_points on customers.customer_id = current_points.customer_id
    left join first_names on customers.customer_id = first_names.customer_id

)

select * from final
