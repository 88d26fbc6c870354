-- Which customer each anonymous id belongs to. Any message carrying both ids links them; when
-- a browser was used by several people, its anonymous events go to the FIRST user id it was
-- linked to (earliest message, then smallest message id), so the choice never flips on reload.
with

messages as (

    select * from {{ ref('stg_segment__messages') }}
    where anonymous_id is not null and user_id is not null

),

first_links as (

    select
        anonymous_id,
        user_id as customer_id,
        occurred_at as linked_at
    from messages
    qualify row_number() over (
        partition by anonymous_id
        order by occurred_at, message_id
    ) = 1

),

link_counts as (

    select
        anonymous_id,
        count(distinct user_id) as linked_user_ids_count
    from messages
    group by anonymous_id

),

final as (

    select
        first_links.anonymous_id,
        first_links.customer_id,
        first_links.linked_at,
        link_counts.linked_user_ids_count,
        link_counts.linked_user_ids_count > 1 as is_shared_anonymous_id
    from first_links
    inner join link_counts on first_links.anonymous_id = link_counts.anonymous_id

)

select * from final
