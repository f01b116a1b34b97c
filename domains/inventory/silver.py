"""inventory's Silver layer: typed, deduplicated stock movements."""

from domains.inventory.contracts import CONTRACTS
from platform_resources.products.silver_events import EventTyping, build_silver_event_assets, event_type_after

MOVEMENTS = CONTRACTS["stock_movements"]

MOVEMENT_TYPING = EventTyping(
    contract=MOVEMENTS,
    data={
        "payload": {
            "movementId": "VARCHAR",
            "productId": "VARCHAR",
            "warehouseId": "VARCHAR",
            "quantity": "BIGINT",
            "onHand": "BIGINT",
            "reorderPoint": "BIGINT",
        }
    },
    columns_sql=f"""
        {event_type_after("inventory.")} AS movement,
        j.data.payload.movementId AS movement_id,
        j.data.payload.productId AS product_id,
        j.data.payload.warehouseId AS warehouse_id,
        j.data.payload.quantity AS quantity,
        j.data.payload.onHand AS on_hand,
        j.data.payload.reorderPoint AS reorder_point""",
)
inventory_silver_events = build_silver_event_assets("inventory", MOVEMENT_TYPING)
