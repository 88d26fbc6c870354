-- Each customer's latest churn score from a scoring run at or before as_of.
with

source as (

    select * from {{ source('ml', 'churn_scores') }}

),

latest as (

    select *
    from source
    where as_of <= {{ as_of() }}
    qualify row_number() over (
        partition by customer_id
        order by as_of desc, scored_at desc, model_version desc, churn_score desc
    ) = 1

),

final as (

    select
        customer_id,
        churn_score,
        top_reasons as churn_reasons,
        model_version as churn_model_version,
        horizon_days as churn_horizon_days,
        as_of as churn_scored_as_of,
        scored_at as churn_scored_at
    from latest

)

select * from final
