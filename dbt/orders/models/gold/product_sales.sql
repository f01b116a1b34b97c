-- Units sold and item revenue per product, order day and currency.
select
    order_date,
    product_id,
    currency,
    sum(quantity)::bigint as units_sold,
    count(distinct order_id)::bigint as orders,
    sum(line_amount)::decimal(18, 2) as item_revenue
from {{ source('orders_silver', 'order_items') }}
where order_date >= '{{ var("min_date") }}' and order_date < '{{ var("max_date") }}'
group by order_date, product_id, currency
