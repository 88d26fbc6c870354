with

order_products as (

    select * from {{ ref('stg_segment__order_products') }}

),

orders as (

    select * from {{ ref('orders') }}

),

catalogue as (

    select * from {{ ref('stg_catalogue__products') }}

),

final as (

    select
        {{ surrogate_key(['order_products.order_id', 'order_products.line_number']) }}
            as order_line_id,
        order_products.order_id,
        orders.customer_id,
        order_products.line_number,
        order_products.product_id,
        coalesce(order_products.category, catalogue.category) as category,
        order_products.price,
        order_products.quantity,
        order_products.price * order_products.quantity as line_revenue,
        orders.ordered_at,
        orders.is_completed
    from order_products
    inner join orders on order_products.order_id = orders.order_id
    left join catalogue on order_products.product_id = catalogue.product_id
    where order_products.product_id is not null

)

select * from final
