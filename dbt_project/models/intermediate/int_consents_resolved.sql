-- Consent per channel as of as_of: the period of int_consents_historized valid at as_of, which
-- holds the opt-in and opt-out rules. Events up to as_of are all known by then, so this is
-- each channel's latest change by event time (an opt-out wins a tie).
with

consents as (

    select * from {{ ref('int_consents_historized') }}
    where valid_from <= {{ as_of() }} and (valid_to is null or valid_to > {{ as_of() }})

),

final as (

    select
        customer_id,
        coalesce(bool_or(channel = 'email' and is_consented), false) as email_consent,
        coalesce(bool_or(channel = 'sms' and is_consented), false) as sms_consent,
        coalesce(bool_or(channel = 'push' and is_consented), false) as push_consent,
        coalesce(bool_or(channel = 'messenger' and is_consented), false) as messenger_consent,
        max(case when channel = 'email' and is_consented then changed_at end)
            as email_opted_in_at,
        max(case when channel = 'email' and not is_consented then changed_at end)
            as email_opted_out_at,
        max(changed_at) as consent_changed_at
    from consents
    group by customer_id

)

select * from final
