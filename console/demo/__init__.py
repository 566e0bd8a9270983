"""`--demo`: the demo's accounts, units and basket (seed) and its living room (room)."""
