-- Settlement per event day, payment method and currency: what was authorized, captured, failed and refunded.
select
    event_date as settlement_date,
    payment_method,
    currency,
    count(*) filter (where status = 'authorized')::bigint as authorized,
    coalesce(sum(amount) filter (where status = 'authorized'), 0)::decimal(18, 2) as authorized_amount,
    count(*) filter (where status = 'captured')::bigint as captured,
    coalesce(sum(amount) filter (where status = 'captured'), 0)::decimal(18, 2) as captured_amount,
    count(*) filter (where status = 'failed')::bigint as failed,
    coalesce(sum(refund_amount) filter (where status = 'refunded'), 0)::decimal(18, 2) as refunded_amount,
    (coalesce(sum(amount) filter (where status = 'captured'), 0)
        - coalesce(sum(refund_amount) filter (where status = 'refunded'), 0))::decimal(18, 2) as net_settled
from {{ source('payments_silver', 'payment_events') }}
where {{ in_window('event_date') }}
group by event_date, payment_method, currency
