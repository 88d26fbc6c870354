"""SQL of the recommenders (DuckDB), parameterised by the cut-off."""

# Per product: popularity of the last 90 days (purchases, then carts and views as weaker signals)
# times a rating shrunk towards the store's average, so one 5-star review does not win.
PRODUCTS = """
create or replace temp table rec_products as
with p as (select cast($cutoff as timestamp) as c),
bought as (
    select product_id, count(distinct order_id) as n
    from order_lines, p
    where is_completed and ordered_at < p.c and ordered_at >= p.c - interval 90 day
    group by product_id
),
interest as (
    select product_id,
        count(*) filter (where event_name = 'Product Viewed') as views,
        count(*) filter (where event_name = 'Product Added') as carts
    from int_events_stitched, p
    where product_id is not null and occurred_at < p.c and occurred_at >= p.c - interval 90 day
    group by product_id
),
prior as (
    select coalesce(sum(avg_rating * reviews_count) / nullif(sum(reviews_count), 0), 4.0) as m
    from products where reviews_count > 0 and avg_rating is not null
)
select pr.product_id, pr.category,
    coalesce(pr.in_stock, true) or not $respect_stock as eligible,
    ln(1 + coalesce(b.n, 0) + 0.1 * coalesce(i.carts, 0) + 0.01 * coalesce(i.views, 0))
      * (coalesce(pr.reviews_count, 0) * coalesce(pr.avg_rating, 0) + 5 * prior.m)
      / (coalesce(pr.reviews_count, 0) + 5) / 5 as score
from products pr
cross join prior
left join bought b using (product_id)
left join interest i using (product_id)
"""


# Cosine similarity of two products over completed baskets: together / sqrt(n_a * n_b).
SIMILARITY = """
create or replace temp table rec_similarity as
with baskets as (
    select distinct order_id, product_id from order_lines
    where is_completed and ordered_at < cast($cutoff as timestamp) and product_id is not null
),
n as (select product_id, count(*) as n from baskets group by product_id)
select a.product_id as product_id, b.product_id as other_id, count(*) as together,
    count(*) / sqrt(any_value(na.n) * any_value(nb.n)) as similarity
from baskets a
join baskets b on a.order_id = b.order_id and a.product_id <> b.product_id
join n na on na.product_id = a.product_id
join n nb on nb.product_id = b.product_id
group by a.product_id, b.product_id
"""


TOP = """
create or replace temp table rec_top as
select product_id, category, score,
    row_number() over (partition by category order by score desc, product_id) as category_rank,
    row_number() over (order by score desc, product_id) as global_rank
from rec_products where eligible
"""


# Seeds: the products of the customer's last completed order and of their carts of the last 30
# days. Interests: categories browsed or carted in the last 30 days, and those of the seeds.
CUSTOMER_CONTEXT = """
create or replace temp table rec_customer_context as
with p as (select cast($cutoff as timestamp) as c),
last_order as (
    select customer_id, arg_max(order_id, ordered_at) as order_id
    from order_lines, p
    where is_completed and ordered_at < p.c and customer_id is not null
    group by customer_id
),
seeds as (
    select distinct l.customer_id, l.product_id
    from order_lines l join last_order o using (customer_id, order_id)
    where l.product_id is not null
    union
    select distinct customer_id, product_id from int_events_stitched, p
    where event_name = 'Product Added' and customer_id is not null and product_id is not null
      and occurred_at < p.c and occurred_at >= p.c - interval 30 day
),
browsed as (
    select customer_id, category from int_events_stitched, p
    where event_name in ('Product Viewed', 'Product Added') and customer_id is not null
      and category is not null and occurred_at < p.c and occurred_at >= p.c - interval 30 day
    union all
    select s.customer_id, rp.category from seeds s join rec_products rp using (product_id)
    where rp.category is not null
),
-- Never recommend what they already ordered (any status) or what is already in their cart.
excluded as (
    select distinct customer_id, product_id from order_lines, p
    where ordered_at < p.c and customer_id is not null and product_id is not null
    union
    select customer_id, product_id from seeds
)
select 'seed' as kind, customer_id, product_id, null::varchar as category, 1 as weight
from seeds
union all
select 'interest', customer_id, null, category, count(*) from browsed group by customer_id, category
union all
select 'excluded', customer_id, product_id, null, 1 from excluded
"""


CUSTOMER_CANDIDATES = """
with ctx as (select * from rec_customer_context),
customers as (select distinct customer_id from ctx where kind in ('seed', 'interest')),
excluded as (select customer_id, product_id from ctx where kind = 'excluded'),
together as (
    select s.customer_id, sim.other_id as product_id, sum(sim.similarity) as score
    from ctx s
    join rec_similarity sim on sim.product_id = s.product_id
    join rec_top t on t.product_id = sim.other_id
    where s.kind = 'seed'
    group by s.customer_id, sim.other_id
),
category as (
    select i.customer_id, t.product_id, max(i.weight * t.score) as score
    from ctx i join rec_top t on t.category = i.category and t.category_rank <= {depth}
    where i.kind = 'interest'
    group by i.customer_id, t.product_id
),
popular as (
    select c.customer_id, t.product_id, -t.global_rank as score
    from customers c cross join rec_top t where t.global_rank <= {depth}
),
lists as (
    select *, 'bought_together' as reason, 0 as lane from together
    union all select *, 'same_category', 1 from category
    union all select *, 'popular', 100000 from popular
),
allowed as (
    select l.* from lists l anti join excluded e using (customer_id, product_id)
    where l.lane in {lanes}
)
-- Interleave the two personal lists so both the pairing and the browsing show up; popular last.
select customer_id as subject_id, product_id, reason,
    lane + 2 * row_number() over (
        partition by customer_id, lane order by score desc, product_id) as sort_key
from allowed
"""
