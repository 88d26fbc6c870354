-- One row per person (customer_id = user id, else anonymous id) with stage, contact, consent,
-- orders and the churn features, as of as_of. Scores are joined in the customers mart, so the
-- churn model can read these features without depending on its own output.
with

events as (

    select * from {{ ref('int_events_stitched') }}

),

sessions as (

    select * from {{ ref('sessions') }}

),

orders as (

    select * from {{ ref('orders') }}

),

contacts as (

    select * from {{ ref('int_contacts_resolved') }}

),

consents as (

    select * from {{ ref('int_consents_resolved') }}

),

stage_changes as (

    select * from {{ ref('int_stage_changes_computed') }}

),

activity as (

    select
        customer_id,
        max(case when user_id is not null then 1 else 0 end) = 1 as is_identified,
        min(occurred_at) as first_seen_at,
        max(case when is_site_activity then occurred_at end) as last_activity_at,
        min(case when {{ is_signup('event_name', 'status') }} then occurred_at end) as signed_up_at,
        count(case when event_name = 'Product Viewed'
            and occurred_at > {{ dbt.dateadd('day', -30, as_of()) }} then 1 end)
            as product_views_30d,
        count(case when event_name = 'Product Added'
            and occurred_at > {{ dbt.dateadd('day', -30, as_of()) }} then 1 end)
            as cart_adds_30d,
        count(case when event_name = 'Email Opened'
            and occurred_at > {{ dbt.dateadd('day', -90, as_of()) }} then 1 end)
            as email_opens_90d,
        count(case when event_name = 'Email Link Clicked'
            and occurred_at > {{ dbt.dateadd('day', -90, as_of()) }} then 1 end)
            as email_clicks_90d,
        max(case when event_name in ('Email Opened', 'Email Link Clicked') then occurred_at end)
            as last_email_engaged_at,
        max(case when event_name = 'Email Delivered' then occurred_at end)
            as last_email_delivered_at,
        count(case when event_name = 'Product Reviewed' then 1 end) as reviews_count
    from events
    group by customer_id

),

session_stats as (

    select
        customer_id,
        count(*) as sessions_count,
        count(case when started_at > {{ dbt.dateadd('day', -30, as_of()) }} then 1 end)
            as sessions_30d
    from sessions
    group by customer_id

),

order_stats as (

    select
        customer_id,
        count(case when is_completed then 1 end) as orders_count,
        count(*) as placed_orders_count,
        count(case when status = 'cancelled' then 1 end) as cancelled_orders_count,
        count(case when status = 'refunded' then 1 end) as refunded_orders_count,
        round(sum(case when is_completed then revenue else 0 end), 2) as revenue,
        min(case when is_completed then ordered_at end) as first_order_at,
        max(case when is_completed then ordered_at end) as last_order_at
    from orders
    where customer_id is not null
    group by customer_id

),

current_stages as (

    select customer_id, to_stage as lifecycle_stage, changed_at as stage_changed_at
    from stage_changes
    qualify row_number() over (partition by customer_id order by changed_at desc) = 1

),

final as (

    select
        activity.customer_id,
        current_stages.lifecycle_stage,
        current_stages.stage_changed_at,
        activity.is_identified,
        contacts.email,
        contacts.phone,
        contacts.first_name,
        coalesce(contacts.timezone, 'UTC') as timezone,
        coalesce(consents.email_consent, false) as email_consent,
        coalesce(consents.sms_consent, false) as sms_consent,
        coalesce(consents.push_consent, false) as push_consent,
        coalesce(consents.messenger_consent, false) as messenger_consent,
        consents.email_opted_in_at,
        consents.email_opted_out_at,
        contacts.push_token,
        contacts.messenger_psid,
        contacts.advertising_id,
        coalesce(
            contacts.email, contacts.phone, contacts.push_token,
            contacts.messenger_psid, contacts.advertising_id
        ) is not null as is_reachable,
        activity.first_seen_at,
        activity.signed_up_at,
        activity.last_activity_at,
        coalesce(order_stats.orders_count, 0) as orders_count,
        coalesce(order_stats.placed_orders_count, 0) as placed_orders_count,
        coalesce(order_stats.cancelled_orders_count, 0) as cancelled_orders_count,
        coalesce(order_stats.refunded_orders_count, 0) as refunded_orders_count,
        coalesce(order_stats.revenue, 0) as revenue,
        order_stats.first_order_at,
        order_stats.last_order_at,
        case when order_stats.orders_count >= 2 then
            {{ days_between('order_stats.first_order_at', 'order_stats.last_order_at') }}
            / (order_stats.orders_count - 1)
        end as avg_days_between_orders,
        case when order_stats.orders_count > 0 then
            order_stats.revenue / order_stats.orders_count
        end as avg_order_value,
        {{ days_between('order_stats.last_order_at', as_of()) }} as days_since_last_order,
        {{ days_between('activity.last_activity_at', as_of()) }} as days_since_last_activity,
        {{ days_between('activity.first_seen_at', as_of()) }} as tenure_days,
        coalesce(session_stats.sessions_count, 0) as sessions_count,
        coalesce(session_stats.sessions_30d, 0) as sessions_30d,
        activity.product_views_30d,
        activity.cart_adds_30d,
        activity.email_opens_90d,
        activity.email_clicks_90d,
        activity.last_email_engaged_at,
        activity.last_email_delivered_at,
        activity.reviews_count
    from activity
    left join current_stages on activity.customer_id = current_stages.customer_id
    left join contacts on activity.customer_id = contacts.customer_id
    left join consents on activity.customer_id = consents.customer_id
    left join order_stats on activity.customer_id = order_stats.customer_id
    left join session_stats on activity.customer_id = session_stats.customer_id

)

select * from final
