"""Fixtures shared by several test files (the config builder is in :mod:`tests.helpers`)."""

import logging

import pytest

from g2da_plugin.data.synthetic import make_synthetic_sysu


@pytest.fixture(autouse=True)
def drop_handlers_of_closed_streams():
    """A tool run in-process under ``capsys`` leaves FastReID's (cached) logger handlers writing to that
    test's capture stream, closed at its end; a later test's log line would print a logging traceback."""
    yield
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and getattr(handler.stream, "closed", False):
                logger.removeHandler(handler)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A tiny synthetic SYSU-MM01 (6 ids, 1-2 images per camera), made once per test session."""
    root = tmp_path_factory.mktemp("tiny_sysu")
    make_synthetic_sysu(str(root), num_train_ids=3, num_val_ids=1, num_test_ids=2, images_per_cam=(1, 2), seed=0)
    return str(root)


@pytest.fixture(scope="session")
def training_root(tmp_path_factory):
    """A small synthetic SYSU-MM01 for training runs (12 ids, 2-3 images per camera)."""
    root = tmp_path_factory.mktemp("training_sysu")
    make_synthetic_sysu(str(root), num_train_ids=6, num_val_ids=2, num_test_ids=4, images_per_cam=(2, 3), seed=0)
    return str(root)
