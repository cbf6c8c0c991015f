"""Trainscope's headless training core: data, config, model, training, evaluation, run store."""
