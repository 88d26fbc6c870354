-- The products[] array of each completed order, one row per line.
with

orders as (

    select * from {{ ref('stg_segment__orders_completed') }}

),

lines as (

    {{ json_array_rows('orders', 'products', ['order_id', 'message_id']) }}

),

final as (

    select
        order_id,
        message_id,
        element_index as line_number,
        {{ json_text('element', 'product_id') }} as product_id,
        {{ json_text('element', 'category') }} as category,
        {{ json_number('element', 'price') }} as price,
        coalesce({{ json_integer('element', 'quantity') }}, 1) as quantity
    from lines

)

select * from final
