-- Output port v2 (data://orders/customer_daily_orders/v2): per order day and customer, the orders placed and how they ended.
select
    order_date,
    user_token,
    count(*)::bigint as orders_placed,
    count(*) filter (where status = 'cancelled')::bigint as cancelled,
    count(*) filter (where status = 'refunded')::bigint as refunded,
    max(created_at) as last_order_at
from {{ source('orders_silver', 'orders') }}
where {{ in_window('order_date') }}
group by order_date, user_token
