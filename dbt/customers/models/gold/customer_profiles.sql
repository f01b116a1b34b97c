-- Output port for consumer domains: the customer dimension without its restricted columns.
select
    registered_date,
    user_token,
    registered_at,
    registration_source,
    country,
    marketing_opt_in
from {{ source('customers_silver', 'customers') }}
where {{ in_window('registered_date') }}
