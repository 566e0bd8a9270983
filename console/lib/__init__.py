"""The platform: database, event log, live feed, API and page machinery, auth, embedded
services. It never imports an area."""
