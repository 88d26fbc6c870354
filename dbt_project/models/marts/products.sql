-- Every product known from the catalogue feed or from events (the feed is optional), with
-- its interest, sales and reviews as of as_of.
with

catalogue as (

    select * from {{ ref('stg_catalogue__products') }}

),

product_views as (

    select * from {{ ref('stg_segment__product_views') }}

),

cart_events as (

    select * from {{ ref('stg_segment__cart_events') }}

),

order_lines as (

    select * from {{ ref('order_lines') }}

),

reviews as (

    select * from {{ ref('stg_segment__reviews') }}

),

sightings as (

    select product_id, product_name, category, price, viewed_at as seen_at, message_id as seen_in
    from product_views
    union all
    select product_id, null, category, price, updated_at, message_id from cart_events
    union all
    select product_id, null, category, price, ordered_at, order_line_id from order_lines
    union all
    select product_id, null, null, null, reviewed_at, message_id from reviews

),

latest_sightings as (

    select
        product_id,
        max(product_name) as product_name,
        max(category) as category,
        max(price) as price
    from (
        select
            product_id,
            first_value(product_name ignore nulls) over latest as product_name,
            first_value(category ignore nulls) over latest as category,
            first_value(price ignore nulls) over latest as price
        from sightings
        where product_id is not null
        window latest as (
            partition by product_id order by seen_at desc, seen_in desc
            rows between unbounded preceding and unbounded following
        )
    ) as per_sighting
    group by product_id

),

view_counts as (

    select product_id, count(*) as views
    from product_views
    group by product_id

),

cart_counts as (

    select product_id, count(*) as carts
    from cart_events
    where cart_action = 'added'
    group by product_id

),

purchase_counts as (

    select product_id, cast(sum(quantity) as {{ dbt.type_bigint() }}) as purchases, round(sum(line_revenue), 2) as revenue
    from order_lines
    where is_completed
    group by product_id

),

review_stats as (

    select product_id, avg(rating) as avg_rating, count(*) as reviews_count
    from reviews
    where rating between 1 and 5
    group by product_id

),

top_reviews as (

    select product_id, review_body as top_review_body
    from reviews
    where review_body is not null and rating between 1 and 5
    qualify row_number() over (
        partition by product_id
        order by rating desc, reviewed_at desc, message_id
    ) = 1

),

all_products as (

    select product_id from catalogue
    union
    select product_id from latest_sightings

),

final as (

    select
        all_products.product_id,
        coalesce(catalogue.product_name, latest_sightings.product_name) as name,
        coalesce(catalogue.category, latest_sightings.category) as category,
        coalesce(catalogue.price, latest_sightings.price) as price,
        catalogue.url,
        catalogue.image_url,
        coalesce(catalogue.in_stock, true) as in_stock,
        catalogue.product_id is not null as is_in_catalogue,
        coalesce(view_counts.views, 0) as views,
        coalesce(cart_counts.carts, 0) as carts,
        coalesce(purchase_counts.purchases, 0) as purchases,
        coalesce(purchase_counts.revenue, 0) as revenue,
        review_stats.avg_rating,
        coalesce(review_stats.reviews_count, 0) as reviews_count,
        top_reviews.top_review_body
    from all_products
    left join catalogue on all_products.product_id = catalogue.product_id
    left join latest_sightings on all_products.product_id = latest_sightings.product_id
    left join view_counts on all_products.product_id = view_counts.product_id
    left join cart_counts on all_products.product_id = cart_counts.product_id
    left join purchase_counts on all_products.product_id = purchase_counts.product_id
    left join review_stats on all_products.product_id = review_stats.product_id
    left join top_reviews on all_products.product_id = top_reviews.product_id

)

select * from final
