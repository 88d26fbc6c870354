-- Every Segment message once (first load of a message id wins), typed, up to as_of.
with

source as (

    select * from {{ source('raw', 'events') }}

),

deduplicated as (

    select *
    from source
    qualify row_number() over (
        partition by message_id
        order by _loaded_at, _source_file, _line_number
    ) = 1

),

renamed as (

    select
        message_id,
        lower(type) as event_type,
        nullif(trim(event), '') as event_name,
        nullif(trim(anonymous_id), '') as anonymous_id,
        nullif(trim(user_id), '') as user_id,
        timestamp as occurred_at,

        {{ json_text('properties', 'product_id') }} as product_id,
        {{ json_text('properties', 'category') }} as category,
        {{ json_text('properties', 'cart_id') }} as cart_id,
        {{ json_text('properties', 'order_id') }} as order_id,
        {{ json_number('properties', 'price') }} as price,
        {{ json_integer('properties', 'quantity') }} as quantity,
        {{ json_number('properties', 'revenue') }} as revenue,
        lower({{ json_text('properties', 'channel') }}) as channel,
        lower({{ json_text('properties', 'status') }}) as status,
        {{ json_text('context', 'timezone') }} as timezone,
        coalesce(
            {{ json_text('context', 'device.advertisingId') }},
            {{ json_text('context', 'device.advertising_id') }},
            {{ json_text('traits', 'advertising_id') }}
        ) as advertising_id,

        properties,
        traits,
        context,
        _source_file as source_file,
        _loaded_at as loaded_at

    from deduplicated

),

final as (

    select * from renamed
    where occurred_at <= {{ as_of() }}

)

select * from final
