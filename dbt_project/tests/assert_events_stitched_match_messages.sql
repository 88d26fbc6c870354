-- The incremental event table holds exactly the messages up to as_of, each with the customer
-- its identities give today (catches any drift between incremental runs and a full refresh).
with expected as (
    select
        messages.message_id,
        coalesce(messages.user_id, identities.customer_id, messages.anonymous_id) as customer_id
    from {{ ref('stg_segment__messages') }} as messages
    left join {{ ref('int_identities_stitched') }} as identities
        on messages.anonymous_id = identities.anonymous_id
    where coalesce(messages.user_id, messages.anonymous_id) is not null
)
select coalesce(expected.message_id, actual.message_id) as message_id
from expected
full outer join {{ ref('int_events_stitched') }} as actual
    on expected.message_id = actual.message_id
where expected.message_id is null
   or actual.message_id is null
   or expected.customer_id <> actual.customer_id
