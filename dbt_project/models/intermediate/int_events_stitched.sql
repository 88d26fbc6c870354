{#-
  Every message with the person it belongs to: customer_id = user_id when the message has one,
  else the customer its anonymous id was stitched to, else the anonymous id itself.

  Incremental, exactly: a run (re)writes the messages not yet in the table (new loads, late
  events, events that a later as_of uncovers) and the messages whose stitched customer changed
  (an identity link arrived or, with an earlier as_of, went away); the post-hook deletes what a
  moved-back as_of no longer sees. No look-back window is needed because new messages are found
  by message id, not by load time. `dbt build --full-refresh` gives the same rows.
-#}
{{
    config(
        materialized='incremental',
        unique_key='message_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook="delete from {{ this }} where occurred_at > {{ as_of() }}",
    )
}}

with

messages as (

    select * from {{ ref('stg_segment__messages') }}

),

identities as (

    select * from {{ ref('int_identities_stitched') }}

),

stitched as (

    select
        messages.*,
        coalesce(
            messages.user_id, identities.customer_id, messages.anonymous_id
        ) as customer_id
    from messages
    left join identities on messages.anonymous_id = identities.anonymous_id
    where coalesce(messages.user_id, messages.anonymous_id) is not null

),

{% if is_incremental() %}

existing as (

    select message_id, customer_id from {{ this }}

),

changed as (

    select stitched.*
    from stitched
    left join existing on stitched.message_id = existing.message_id
    where existing.message_id is null
       or existing.customer_id <> stitched.customer_id

),

{% else %}

changed as (

    select * from stitched

),

{% endif %}

final as (

    select
        message_id,
        customer_id,
        anonymous_id,
        user_id,
        event_type,
        event_name,
        occurred_at,
        {{ is_site_activity('event_type', 'event_name') }} as is_site_activity,
        product_id,
        category,
        cart_id,
        order_id,
        price,
        quantity,
        revenue,
        channel,
        status,
        timezone,
        advertising_id,
        properties,
        context,
        loaded_at,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
            as stitched_at
    from changed

)

select * from final
