-- The latest catalogue feed row of each product (the feed is optional: this may be empty).
with

source as (

    select * from {{ source('raw', 'catalogue_products') }}

),

latest as (

    select *
    from source
    where product_id is not null
    qualify row_number() over (
        partition by product_id
        -- the rest only breaks ties between rows repeated within one feed file
        order by _loaded_at desc, _source_file desc, name, category, price, url, image_url
    ) = 1

),

final as (

    select
        product_id,
        name as product_name,
        category,
        price,
        url,
        image_url,
        in_stock,
        _loaded_at as loaded_at
    from latest

)

select * from final
