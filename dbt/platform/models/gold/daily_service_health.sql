-- Per day and service: checks, degraded and unhealthy ones, availability, response times, errors.
select
    event_date as check_date,
    service_name,
    count(*)::bigint as checks,
    count(*) filter (where status = 'degraded')::bigint as degraded,
    count(*) filter (where status = 'unhealthy')::bigint as unhealthy,
    (count(*) filter (where status = 'healthy') / count(*))::double as availability,
    quantile_cont(response_time_ms, 0.95)::double as p95_response_time_ms,
    max(response_time_ms)::double as max_response_time_ms,
    sum(error_count)::bigint as errors
from {{ source('platform_silver', 'operations_events') }}
where event_type = 'system.health.check'
    and {{ in_window('event_date') }}
group by event_date, service_name
