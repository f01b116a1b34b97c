-- Per day and webhook source: received, signatures that do not verify, mean processing time.
select
    event_date as received_date,
    webhook_source,
    count(*)::bigint as received,
    count(*) filter (where not signature_valid)::bigint as invalid_signatures,
    avg(processing_time_ms)::double as mean_processing_time_ms
from {{ source('platform_silver', 'operations_events') }}
where event_type = 'integration.webhook.received'
    and {{ in_window('event_date') }}
group by event_date, webhook_source
