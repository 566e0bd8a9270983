"""The browser fixtures (`browser`, `contexts`, `unit_id`) live in tests/browser_fixtures.py and
are shared by every test folder through tests/conftest.py."""
