-- People known only by an anonymous id (never identified with a user id).
with

profiles as (

    select * from {{ ref('int_customers_profiled') }}
    where not is_identified

),

sessions as (

    select * from {{ ref('sessions') }}

),

session_stats as (

    select
        customer_id,
        count(*) as sessions,
        cast(sum(product_views) as {{ dbt.type_bigint() }}) as product_views,
        max(ended_at) as last_seen_at
    from sessions
    group by customer_id

),

final as (

    select
        profiles.customer_id as visitor_id,
        profiles.lifecycle_stage,
        profiles.first_seen_at,
        coalesce(session_stats.last_seen_at, profiles.first_seen_at) as last_seen_at,
        coalesce(session_stats.sessions, 0) as sessions,
        coalesce(session_stats.product_views, 0) as product_views,
        profiles.advertising_id,
        profiles.signed_up_at is not null as has_signed_up
    from profiles
    left join session_stats on profiles.customer_id = session_stats.customer_id

)

select * from final
