-- Delivered, still-completed orders whose products the customer has not reviewed since
-- ordering, review_delay_days after delivery.
with

orders as (

    select * from {{ ref('orders') }}

),

order_lines as (

    select * from {{ ref('order_lines') }}

),

reviews as (

    select customer_id, product_id, occurred_at
    from {{ ref('int_events_stitched') }}
    where event_name = 'Product Reviewed'

),

delivered as (

    select
        *,
        {{ dbt.dateadd('day', var('review_delay_days'), 'delivered_at') }} as due_at
    from orders
    where is_completed and delivered_at is not null and customer_id is not null

),

reviewed_orders as (

    select distinct order_lines.order_id
    from order_lines
    inner join reviews
        on order_lines.customer_id = reviews.customer_id
        and order_lines.product_id = reviews.product_id
        and reviews.occurred_at >= order_lines.ordered_at

),

order_products as (

    select
        order_id,
        {{ dbt.listagg('product_id', "','", 'order by product_id') }} as product_ids
    from (select distinct order_id, product_id from order_lines) as distinct_products
    group by order_id

),

order_categories as (

    select
        order_id,
        {{ dbt.listagg('category', "','", 'order by category') }} as categories
    from (
        select distinct order_id, category from order_lines where category is not null
    ) as distinct_categories
    group by order_id

),

final as (

    select
        delivered.customer_id,
        delivered.order_id,
        delivered.delivered_at,
        delivered.due_at as entered_at,
        order_products.product_ids,
        order_categories.categories
    from delivered
    left join reviewed_orders on delivered.order_id = reviewed_orders.order_id
    left join order_products on delivered.order_id = order_products.order_id
    left join order_categories on delivered.order_id = order_categories.order_id
    where reviewed_orders.order_id is null
      and delivered.due_at <= {{ as_of() }}

)

select * from final
