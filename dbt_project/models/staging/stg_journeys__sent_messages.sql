-- Messages the journey engine has sent (or written to the dry-run outbox) up to as_of.
with

source as (

    select * from {{ source('journeys', 'sent_messages') }}

),

final as (

    select
        message_id,
        customer_id,
        flow,
        step,
        channel,
        sent_at
    from source
    where sent_at <= {{ as_of() }}

)

select * from final
