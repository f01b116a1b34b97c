-- Units sold and item revenue per product, order day and currency; items of cancelled orders are not sold.
select
    i.order_date,
    i.product_id,
    i.currency,
    sum(i.quantity)::bigint as units_sold,
    count(distinct i.order_id)::bigint as orders,
    sum(i.line_amount)::decimal(18, 2) as item_revenue
from {{ source('orders_silver', 'order_items') }} as i
join {{ source('orders_silver', 'orders') }} as o using (order_id)
where {{ in_window('i.order_date') }}
  and o.status <> 'cancelled'
group by i.order_date, i.product_id, i.currency
