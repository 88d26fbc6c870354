-- The 360 view: every person's profile plus their latest churn score (buyers only; null until
-- the churn model has scored them).
with

profiles as (

    select * from {{ ref('int_customers_profiled') }}

),

churn_scores as (

    select * from {{ ref('stg_ml__churn_scores') }}

),

final as (

    select
        profiles.*,
        churn_scores.churn_score,
        churn_scores.churn_reasons,
        churn_scores.churn_model_version,
        churn_scores.churn_scored_as_of
    from profiles
    left join churn_scores
        on profiles.customer_id = churn_scores.customer_id
        and profiles.lifecycle_stage in ('buyer', 'repeat_buyer')

)

select * from final
