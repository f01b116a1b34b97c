-- Registrations per day, source and country, and how many of those customers opted in to marketing.
select
    registered_date,
    registration_source,
    coalesce(country, 'ZZ') as country,
    count(*)::bigint as signups,
    count(*) filter (where marketing_opt_in)::bigint as opted_in
from {{ source('customers_silver', 'customers') }}
where {{ in_window('registered_date') }}
group by registered_date, registration_source, coalesce(country, 'ZZ')
