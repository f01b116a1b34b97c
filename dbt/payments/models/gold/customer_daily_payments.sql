-- Output port for consumer domains: per event day and customer, payments by outcome.
select
    event_date as payment_date,
    user_token,
    count(*) filter (where status = 'authorized')::bigint as authorized,
    count(*) filter (where status = 'captured')::bigint as captured,
    count(*) filter (where status = 'failed')::bigint as failed,
    count(*) filter (where status = 'refunded')::bigint as refunded
from {{ source('payments_silver', 'payment_events') }}
where {{ in_window('event_date') }}
group by event_date, user_token
