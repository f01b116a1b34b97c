-- Orders and average order value by current status (per currency: values in different currencies do not add).
select
    order_date,
    status,
    currency,
    count(*)::bigint as orders,
    sum(total_amount)::decimal(18, 2) as total_value,
    avg(total_amount)::decimal(18, 2) as avg_order_value
from {{ source('orders_silver', 'orders') }}
where {{ in_window('order_date') }}
group by order_date, status, currency
