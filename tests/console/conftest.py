"""The console's unit-test fixtures are shared with every test directory: see tests/conftest.py."""
