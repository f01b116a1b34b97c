-- Output port v1, deprecated: v2 under v1's column names (v2 renamed orders to orders_placed).
select
    order_date,
    user_token,
    orders_placed as orders,
    cancelled,
    refunded,
    last_order_at
from {{ ref('customer_daily_orders', v=2) }}
