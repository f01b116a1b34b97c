-- Revenue per order day and currency; cancelled orders earn nothing, refunds are netted.
select
    order_date,
    currency,
    count(*)::bigint as orders,
    sum(case when status <> 'cancelled' then total_amount else 0 end)::decimal(18, 2) as gross_revenue,
    sum(coalesce(refunded_amount, 0))::decimal(18, 2) as refunded_amount,
    (sum(case when status <> 'cancelled' then total_amount else 0 end)
        - sum(coalesce(refunded_amount, 0)))::decimal(18, 2) as net_revenue
from {{ source('orders_silver', 'orders') }}
where {{ in_window('order_date') }}
group by order_date, currency
