-- A person's lifecycle stage is the to_stage of their latest stage change.
with latest as (
    select customer_id, to_stage
    from {{ ref('customer_stage_history') }}
    qualify row_number() over (partition by customer_id order by changed_at desc) = 1
)
select customers.customer_id
from {{ ref('int_customers_profiled') }} as customers
left join latest on customers.customer_id = latest.customer_id
where latest.to_stage is null or latest.to_stage <> customers.lifecycle_stage
