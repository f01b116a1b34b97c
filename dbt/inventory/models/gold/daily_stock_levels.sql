-- Per day, product and warehouse that moved: received, shipped, net change, closing balance, low stock.
select
    event_date as stock_date,
    product_id,
    warehouse_id,
    coalesce(sum(quantity) filter (where movement = 'received'), 0)::bigint as received,
    coalesce(-sum(quantity) filter (where movement = 'shipped'), 0)::bigint as shipped,
    sum(quantity)::bigint as net_change,
    arg_max(on_hand, (event_ts, line_number))::bigint as closing_on_hand,
    arg_max(reorder_point, (event_ts, line_number))::bigint as reorder_point,
    arg_max(on_hand, (event_ts, line_number)) <= arg_max(reorder_point, (event_ts, line_number)) as low_stock
from {{ source('inventory_silver', 'stock_movements') }}
where {{ in_window('event_date') }}
group by event_date, product_id, warehouse_id
