-- buyer = exactly one completed order, repeat_buyer = two or more, anyone else has none.
select customer_id, lifecycle_stage, orders_count
from {{ ref('int_customers_profiled') }}
where (lifecycle_stage = 'buyer') <> (orders_count = 1)
   or (lifecycle_stage = 'repeat_buyer') <> (orders_count >= 2)
