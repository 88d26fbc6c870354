with

stage_changes as (

    select * from {{ ref('int_stage_changes_computed') }}

),

final as (

    select
        {{ surrogate_key(['customer_id', 'changed_at', 'to_stage']) }} as stage_change_id,
        customer_id,
        from_stage,
        to_stage,
        changed_at,
        completed_orders_count
    from stage_changes

)

select * from final
