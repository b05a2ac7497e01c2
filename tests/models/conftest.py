import pytest


def pytest_collection_modifyitems(items):
    # torch's exporters warn at length about tracing and deprecations; the tests assert on
    # the exported models' outputs instead.
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore"))


def pytest_terminal_summary(terminalreporter):
    from test_models import SKIPPED_SAVED_MODEL_CHECKS

    if SKIPPED_SAVED_MODEL_CHECKS:
        terminalreporter.write_line(
            f"{len(SKIPPED_SAVED_MODEL_CHECKS)} saved-model checks in onnxruntime skipped "
            "(the model saved at extended/all has ferry-domain ops):")
        for reason in SKIPPED_SAVED_MODEL_CHECKS:
            terminalreporter.write_line(f"  {reason}")
