"""The edge of the SEUS console: web app, API, websocket, adapters, embedded services."""
