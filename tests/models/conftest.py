import pytest


def pytest_collection_modifyitems(items):
    # torch's exporters warn at length about tracing and deprecations; the tests assert on
    # the exported models' outputs instead.
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore"))
