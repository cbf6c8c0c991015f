"""Session-state and widget keys, namespaced by page, in one place."""

# Train page
TRAIN_RUN_ID = "train.run_id"  # the run this browser session started (or reopened)
TRAIN_DATASET = "train.dataset"
TRAIN_SAMPLES = "train.n_samples"
TRAIN_FEATURES = "train.n_features"
TRAIN_INFORMATIVE = "train.n_informative"
TRAIN_CLASS_SEP = "train.class_sep"
TRAIN_NOISE = "train.flip_y"
TRAIN_DATA_SEED = "train.data_seed"
TRAIN_SIZE = "train.train_size"
TRAIN_LAYERS = "train.layers"
TRAIN_UNITS = "train.units_{}"  # one per hidden layer
TRAIN_DROPOUT = "train.dropout"
TRAIN_ACTIVATION = "train.activation"
TRAIN_OPTIMIZER = "train.optimizer"
TRAIN_LEARNING_RATE = "train.learning_rate"
TRAIN_BATCH = "train.batch_size"
TRAIN_EPOCHS = "train.epochs"
TRAIN_EARLY_STOP = "train.early_stopping"
TRAIN_PATIENCE = "train.patience"
TRAIN_SEED = "train.seed"
TRAIN_BUTTON = "train.start"
TRAIN_STOP = "train.stop"
TRAIN_ERROR = "train.error"  # why the last Train click started nothing, shown once
TRAIN_UNLOADABLE = "train.unloadable"  # the data settings whose data this session could not load

# Results (shared by Train and Runs); prefixed by the caller
RESULTS_NORMALIZE = "{}.normalize"

# Runs page
RUNS_TABLE = "runs.table"
RUNS_SELECTED = "runs.selected"
RUNS_DELETE = "runs.delete"
RUNS_CONFIRM = "runs.confirm_delete"
RUNS_CANCEL = "runs.cancel_delete"
RUNS_PENDING_DELETE = "runs.pending_delete"  # run id waiting for the "Yes, delete" click
RUNS_TABLE_IDS = "runs.table_ids"  # run ids in table row order at the last render
RUNS_NOTICE = "runs.notice"  # (kind, text) left by a button callback for the next render
RUNS_REFRESH = "runs.refresh"
RUNS_STOP = "runs.stop"

# Compare page
COMPARE_RUNS = "compare.runs"
COMPARE_SETTING = "compare.setting"
COMPARE_LOSS_CHART = "compare.chart.loss"
COMPARE_ACCURACY_CHART = "compare.chart.accuracy"
COMPARE_SETTING_CHART = "compare.chart.setting"

# Predict page
PREDICT_SOURCE = "predict.source"
PREDICT_RUN = "predict.run"
PREDICT_BUNDLE = "predict.bundle"
PREDICT_INPUT = "predict.input"
PREDICT_TABLE = "predict.table"
PREDICT_DOWNLOAD = "predict.download"
